"""The sweeper: active holds past their expire_time are expired, their money given back.

It runs as a job in the server (every HOLD_SWEEP_INTERVAL_SECONDS) and as the command
`python -m user_service release-expired-holds`; several of each may run at once. Each
hold is settled in a transaction of its own, with its account and then the hold locked
(the order every other path uses) and only while it is still active: released exactly
once, whoever comes first.
"""

from __future__ import annotations

import functools
import logging
import uuid
from dataclasses import dataclass

from user_service.domain.errors import Aborted
from user_service.domain.holds import expire
from user_service.storage.unit_of_work import SqlUnitOfWork, Transactions

BATCH = 100

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sweep:
    examined: int
    released: int


class HoldSweeper:
    def __init__(self, transactions: Transactions, batch: int = BATCH) -> None:
        self._transactions = transactions
        self._batch = batch

    def sweep(self) -> Sweep:
        """Expire up to one batch of the holds past their time."""
        candidates = self._transactions.run(lambda uow: uow.holds.expired(self._batch))
        released = 0
        for hold_id in candidates:
            try:
                released += self._transactions.run(functools.partial(_expire, hold_id=hold_id))
            except Aborted as error:  # busy account: the next sweep takes it
                log.warning("hold not expired this time: %s", error.reason)
        if released:
            log.info("released %d expired holds", released)
        return Sweep(len(candidates), released)

    def run_once(self) -> bool:
        """For the server's PeriodicJob: True when a full batch suggests there is more."""
        return self.sweep().examined == self._batch

    def release_all(self) -> int:
        """Sweep until no expired hold is left (or a sweep makes no progress); how many released."""
        total = 0
        while True:
            sweep = self.sweep()
            total += sweep.released
            if sweep.examined < self._batch or sweep.released == 0:
                return total


def _expire(uow: SqlUnitOfWork, *, hold_id: uuid.UUID) -> int:
    holder = uow.accounts.lock_holder(hold_id)
    if holder is None:
        return 0
    return int(expire(uow, holder, uow.holds.lock(hold_id, holder)))
