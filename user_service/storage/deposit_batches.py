"""Deposits that arrive together, committed together (group commit).

Alone, a deposit is one statement (ledger.POST): PostgreSQL locks the account's row,
writes the ledger and audit rows and commits, once per deposit; deposits on one account
queue on its row lock, one commit after another. When deposits come faster than that,
those waiting go as one statement (ledger.POST_DEPOSITS) and one commit: each account's
row locked once and moved by their sum, each deposit with its own ledger row (its
balance_after as if they had come one after the other, in arrival order) and its own
audit row.

No deposit waits for company. At most IN_FLIGHT statements of deposits run at once, on
IN_FLIGHT connections of their own; a deposit that finds room goes at once, alone, as
POST. Those that come while all are busy wait for the first to end and go together, up to
`max_size` (DEPOSIT_BATCH_MAX; 1: every deposit alone on the event loop's pool, as many
at once as there are callers).

One deposit's trouble stays its own. A deposit on an unknown or closed account gets no row
(the handler finds out why, as after POST). Those connections wait for a row lock only
briefly (TOGETHER_LOCK_TIMEOUT_MS), so that a lock held long (a stuck transaction, an
operator's UPDATE) cannot keep them, and every deposit waiting for them, busy: a deposit
sent alone there that meets it gives up (TransactionConflict: the handler's transaction
then waits for the lock, in a worker thread). When deposits sent together fail as a whole
(a request_id used before, which the ledger's unique index refuses; a lock held long; a
deadlock; the connection lost; a timeout), each of them goes again alone, from its own
call, on the event loop's pool, under its own deadline, and gets its own answer; sent
again after a failure whose outcome is unknown (the connection lost as it committed), a
deposit meets its own request_id, as a retry does. A request_id met twice among those
waiting goes with the next statement, which finds the first one's row.

A statement runs under the nearest deadline of its deposits, and a deposit whose deadline
passed while it waited is not sent (DatabaseTimeout). A caller that goes away while its
deposit waits takes it out; once sent, the deposit lands or not with the others.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import dataclasses
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from user_service import deadlines, metrics
from user_service.domain.money import Posted
from user_service.storage.errors import DatabaseTimeout
from user_service.storage.loop_statements import LoopStatements
from user_service.storage.repositories.ledger import POST, POST_DEPOSITS, deposits_params
from user_service.storage.session_limits import SessionLimits

log = logging.getLogger(__name__)

# Deposit statements running at once, each on a connection of its own. With one, every
# deposit of the process would wait behind each statement (and all of them behind a slow
# one); three measured worse than two (smaller batches, more commits).
IN_FLIGHT = 2
# How long a deposit statement on those connections (alone or together) waits for a row
# lock before it gives up: alone, the deposit then waits in the handler's transaction (in a
# worker thread); together, each goes alone. Another deposit statement on the same account
# holds its lock for a few milliseconds; a row locked for longer (a transaction stuck on a
# slow client, an operator's UPDATE) holds up only the deposits on it, never the places.
TOGETHER_LOCK_TIMEOUT_MS = 100


def together_limits(limits: SessionLimits, lock_timeout_ms: int = TOGETHER_LOCK_TIMEOUT_MS) -> SessionLimits:
    """The timeouts of the IN_FLIGHT connections: `limits`, with a lock timeout of at most
    `lock_timeout_ms`."""
    lock_ms = min(limits.lock_timeout_ms or lock_timeout_ms, lock_timeout_ms)
    return dataclasses.replace(limits, lock_timeout_ms=lock_ms)


class _GoAlone:
    """A deposit's answer when the statement it went in failed as a whole."""


GO_ALONE = _GoAlone()


@dataclass(eq=False)
class _Deposit:
    params: Mapping[str, Any]  # ledger.post_params
    deadline: float | None  # on time.monotonic()'s clock
    answer: asyncio.Future[Posted | _GoAlone | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    @property
    def key(self) -> tuple[Any, ...]:
        return self.params["user_id"], self.params["currency"], self.params["request_id"]

    def remaining(self) -> float | None:
        return None if self.deadline is None else max(self.deadline - time.monotonic(), 0.0)


class DepositBatches:
    def __init__(self, statements: LoopStatements, together: LoopStatements, max_size: int) -> None:
        """`statements`: where a deposit goes alone; `together`: where deposits go together,
        on IN_FLIGHT connections with together_limits' timeouts."""
        self._statements = statements
        self._together = together
        self._max_size = max_size
        self._waiting: collections.deque[_Deposit] = collections.deque()
        self._running = 0
        self._sending: set[asyncio.Task[None]] = set()  # the event loop keeps weak references only

    async def post(self, params: Mapping[str, Any]) -> Posted | None:
        """As LoopStatements.one(POST, params), for a deposit: its Posted, or None when it
        wrote nothing (an unknown or closed account); errors as one's (TransactionConflict
        also when a row lock is not had within TOGETHER_LOCK_TIMEOUT_MS)."""
        if self._max_size == 1:
            return await _alone(self._statements, params)
        if self._running < IN_FLIGHT and not self._waiting:  # room: alone, in the caller's task
            self._running += 1
            try:
                return await _alone(self._together, params)
            finally:
                self._running -= 1
                self._send_next()
        left = deadlines.remaining()
        deposit = _Deposit(params, None if left is None else time.monotonic() + left)
        self._waiting.append(deposit)
        self._send_next()
        answer = await deposit.answer  # cancelled: taken out before it is sent
        if isinstance(answer, _GoAlone):  # the statement it went in failed as a whole
            return await _alone(self._statements, params)
        return answer

    def _send_next(self) -> None:
        """Send those waiting, when a statement may start."""
        if self._running >= IN_FLIGHT:
            return
        batch = self._next_batch()
        if not batch:
            return
        self._running += 1
        # A context of its own: the batch is no single call's (its deadline is set inside).
        task = asyncio.create_task(self._send(batch), context=contextvars.Context())
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    def _next_batch(self) -> list[_Deposit]:
        batch: list[_Deposit] = []
        keys: set[tuple[Any, ...]] = set()
        later: list[_Deposit] = []
        while self._waiting and len(batch) < self._max_size:
            deposit = self._waiting.popleft()
            if deposit.answer.done():  # its caller went away
                continue
            if deposit.key in keys:  # the same request_id twice: the second finds the first's row
                later.append(deposit)
            elif deposit.remaining() == 0:
                deposit.answer.set_exception(DatabaseTimeout())
            else:
                keys.add(deposit.key)
                batch.append(deposit)
        self._waiting.extendleft(reversed(later))
        return batch

    async def _send(self, batch: list[_Deposit]) -> None:
        try:
            if len(batch) == 1:
                await self._send_alone(batch[0])
            else:
                await self._send_together(batch)
        finally:
            for deposit in batch:  # only when the server stops mid-statement
                if not deposit.answer.done():
                    deposit.answer.cancel()
            self._running -= 1
            self._send_next()

    async def _send_alone(self, deposit: _Deposit) -> None:
        try:
            with deadlines.call_deadline(deposit.remaining()):
                posted = await _alone(self._together, deposit.params)
        except Exception as error:  # the caller's to handle, as after one()
            _answer(deposit, error)
        else:
            _answer(deposit, posted)

    async def _send_together(self, batch: list[_Deposit]) -> None:
        left = [remaining for deposit in batch if (remaining := deposit.remaining()) is not None]
        try:
            with deadlines.call_deadline(min(left) if left else None):
                rows = await self._together.all(POST_DEPOSITS, deposits_params([d.params for d in batch]))
        except Exception as error:  # each goes again alone, and hears its own answer
            failed = type(error).__name__
            log.info("%d deposits sent together failed (%s); each goes again alone", len(batch), failed)
            for deposit in batch:
                _answer(deposit, GO_ALONE)
            return
        written = dict(rows)
        if written:
            metrics.deposits_per_commit.observe(len(written))
        for place, deposit in enumerate(batch, start=1):
            _answer(deposit, written.get(place))


def _answer(deposit: _Deposit, answer: Posted | _GoAlone | Exception | None) -> None:
    if deposit.answer.done():  # its caller went away
        return
    if isinstance(answer, Exception):
        deposit.answer.set_exception(answer)
    else:
        deposit.answer.set_result(answer)


async def _alone(statements: LoopStatements, params: Mapping[str, Any]) -> Posted | None:
    """The deposit as POST on `statements`, counted in deposits_per_commit when written."""
    posted: Posted | None = await statements.one(POST, params)
    if posted is not None:
        metrics.deposits_per_commit.observe(1)
    return posted
