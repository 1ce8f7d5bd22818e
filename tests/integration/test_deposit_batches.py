"""Deposits that arrive together, committed together (storage/deposit_batches.py), through
the Balance handler on an event loop, as the server runs it, on a database of this
module's own (so that reconciliation sees only what these tests did).

Deposits started together on the loop go in a known order: the first IN_FLIGHT go alone
(as POST), and those that come while both run wait and go as one statement (POST_DEPOSITS)
when the first of them ends. A lock held by the test keeps the first ones waiting when a
test needs time to pass while others wait."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine, text

from tests.support.databases import as_role, temporary_database
from tests.support.loop_queries import LoopQueries
from tests.support.lost_answers import LostAnswers, behind_lost_answers
from tests.support.money import Money, delete_user, ledger, money_on, new_user, service_principal
from user_service import deadlines
from user_service.domain.money import Posted
from user_service.domain.money_errors import UserNotFound
from user_service.storage.database import make_engine
from user_service.storage.deposit_batches import IN_FLIGHT
from user_service.storage.errors import DatabaseTimeout

SERVICE = service_principal()
ALONE = "WITH changed AS"  # ledger.POST
TOGETHER = "WITH item AS"  # ledger.POST_DEPOSITS


@pytest.fixture(scope="module")
def database(service_role) -> Iterator[tuple[str, str, Engine]]:
    """(the service's URL, the owner's URL, the owner's engine)"""
    with temporary_database(migrated=True, service_role=service_role) as url:
        owner = make_engine(url, pool_size=2)
        yield as_role(url, service_role), url, owner
        owner.dispose()


@pytest.fixture(scope="module")
def owner(database) -> Engine:
    return database[2]


@pytest.fixture(scope="module")
def money(database) -> Iterator[Money]:
    with money_on(database[0], pool_size=4, on_loop_connect=LoopQueries.watch) as made:
        yield made


@pytest.fixture(scope="module")
def patient(database) -> Iterator[Money]:
    """Deposits alone wait for a row lock as long as the connection's own lock timeout (2 s),
    so that a lock the test holds keeps both places busy while others wait."""
    with money_on(
        database[0], pool_size=4, on_loop_connect=LoopQueries.watch, together_lock_timeout_ms=60_000
    ) as made:
        yield made


@pytest.fixture(scope="module")
def in_threes(database) -> Iterator[Money]:
    with money_on(database[0], pool_size=4, on_loop_connect=LoopQueries.watch, deposit_batch_max=3) as made:
        yield made


@pytest.fixture(scope="module")
def each_alone(database) -> Iterator[Money]:
    with money_on(database[0], pool_size=4, on_loop_connect=LoopQueries.watch, deposit_batch_max=1) as made:
        yield made


@pytest.fixture(scope="module")
def lossy(database) -> Iterator[tuple[Money, LostAnswers]]:
    """The deposits' own connections through a proxy that loses an answer when told to."""
    with (
        behind_lost_answers(database[0]) as (together_url, proxy),
        money_on(
            database[0], pool_size=4, on_loop_connect=LoopQueries.watch, together_url=together_url
        ) as made,
    ):
        yield made, proxy


@pytest.fixture(autouse=True)
def clean_log() -> None:
    LoopQueries.clear()


def deposit(
    money: Money, user: uuid.UUID, amount: int, request_id: str = "", *, deadline: float | None = None
) -> Coroutine[Any, Any, Posted]:
    async def call() -> Posted:
        with deadlines.call_deadline(deadline):
            return await money.on_loop.deposit(
                SERVICE,
                user_id=str(user),
                amount=amount,
                request_id=request_id or uuid.uuid4().hex,
                description=f"deposit of {amount}",
            )

    return call()


def together(money: Money, *calls: Coroutine[Any, Any, Posted]) -> list[Any]:
    """Start the calls at once on the handler's loop, in order; their answers or errors."""

    async def at_once() -> list[Any]:
        return await asyncio.gather(*calls, return_exceptions=True)

    return money.loop.run(at_once())


@contextlib.asynccontextmanager
async def row_locked(owner_url: str, user: uuid.UUID) -> AsyncIterator[None]:
    """The user's account row locked by another transaction until the block ends."""
    connection = await asyncpg.connect(owner_url.replace("postgresql+psycopg2://", "postgresql://"))
    try:
        async with connection.transaction():
            await connection.execute("SELECT 1 FROM accounts WHERE user_id = $1 FOR UPDATE", user)
            yield
    finally:
        await connection.close()


def sent_together() -> list[int]:
    """How many deposits each POST_DEPOSITS sent carried, in the order they ended."""
    return [
        len(arguments[0])
        for statement, arguments in zip(LoopQueries.sent, LoopQueries.arguments, strict=True)
        if statement.startswith(TOGETHER)
    ]


def sent_alone() -> int:
    return sum(statement.startswith(ALONE) for statement in LoopQueries.sent)


def errors_met(kind: str) -> list[type[BaseException] | None]:
    """The error each logged statement of `kind` (ALONE or TOGETHER) met, None if none."""
    return [
        type(error) if error is not None else None
        for statement, error in zip(LoopQueries.sent, LoopQueries.errors, strict=True)
        if statement.startswith(kind)
    ]


def commits_counted() -> tuple[float, float]:
    """user_service_deposits_per_commit's count and sum, in this process."""
    count = REGISTRY.get_sample_value("user_service_deposits_per_commit_count") or 0.0
    return count, REGISTRY.get_sample_value("user_service_deposits_per_commit_sum") or 0.0


def audited(owner: Engine, user: uuid.UUID) -> dict[str, int]:
    """Of each deposit audited on the user: its transaction id, by its request_id."""
    with owner.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT details->>'request_id' AS request_id, (details->>'transaction_id')::bigint AS id,"
                " (details->>'amount')::bigint AS amount FROM audit_events"
                " WHERE action = 'balance.deposit' AND subject_user_id = :id"
            ),
            {"id": user},
        ).all()
    return {row.request_id: row.id for row in rows}


def test_deposits_that_wait_go_in_one_statement_each_with_its_own_rows(money, owner):
    x, y, a, b, c = (new_user(owner) for _ in range(5))
    ids = [uuid.uuid4().hex for _ in range(8)]
    # x's and y's take the places (alone, on accounts of their own: which of them and the
    # statement after them commits first is not for the test to say); the rest wait.
    calls = [(x, 10), (y, 20), (a, 1), (a, 2), (b, 3), (c, 4), (a, 5), (b, 6)]

    sent = [deposit(money, user, amount, rid) for (user, amount), rid in zip(calls, ids, strict=True)]
    commits, deposits = commits_counted()
    answers = together(money, *sent)

    assert all(isinstance(answer, Posted) for answer in answers), answers
    assert sent_alone() == IN_FLIGHT
    assert sent_together() == [len(calls) - IN_FLIGHT]
    # Each account's rows as if its deposits had come one after the other, in arrival order.
    assert ledger(owner, a) == [(1, 1, ids[2]), (2, 3, ids[3]), (5, 8, ids[6])]
    assert ledger(owner, b) == [(3, 3, ids[4]), (6, 9, ids[7])]
    assert ledger(owner, c) == [(4, 4, ids[5])]
    assert (ledger(owner, x), ledger(owner, y)) == ([(10, 10, ids[0])], [(20, 20, ids[1])])
    # And so is what each caller hears: its own row, and the balance just after it.
    by_request = {answer.transaction.request_id: answer for answer in answers}
    for user in (x, y, a, b, c):
        for amount, balance_after, request_id in ledger(owner, user):
            posted = by_request[request_id]
            assert (posted.transaction.amount, posted.transaction.balance_after) == (amount, balance_after)
            assert posted.balance.available == balance_after
            assert posted.transaction.user_id == posted.balance.user_id == user
    # One audit row per deposit, naming its own transaction.
    assert {k: v for user in (x, y, a, b, c) for k, v in audited(owner, user).items()} == {
        request_id: posted.transaction.id for request_id, posted in by_request.items()
    }
    assert money.reconcile().clean
    # user_service_deposits_per_commit: three commits, eight deposits.
    assert commits_counted() == (commits + IN_FLIGHT + 1, deposits + len(calls))


def test_a_deposit_on_an_unknown_or_closed_account_is_refused_alone(money, owner):
    x, y, a, b, gone = (new_user(owner) for _ in range(5))
    delete_user(owner, gone)

    answers = together(
        money,
        deposit(money, x, 1),  # x's and y's take the places
        deposit(money, y, 1),
        deposit(money, a, 1),
        deposit(money, uuid.uuid4(), 7),
        deposit(money, gone, 7),
        deposit(money, b, 9),
    )

    refused = [UserNotFound, UserNotFound]
    assert [type(answer) for answer in answers] == [Posted, Posted, Posted, *refused, Posted]
    assert sent_together() == [4]  # one statement, not sent again: the others were not held up
    assert sent_alone() == IN_FLIGHT
    assert [row[:2] for row in ledger(owner, a)] == [(1, 1)]
    assert [row[:2] for row in ledger(owner, b)] == [(9, 9)]
    assert ledger(owner, gone) == []
    assert money.reconcile().clean


def test_a_request_id_used_before_sends_each_deposit_again_alone_and_each_lands_once(money, owner):
    a, b, c = new_user(owner), new_user(owner), new_user(owner)
    first = together(money, deposit(money, a, 50, "used-before"))[0]
    LoopQueries.clear()

    x, y = new_user(owner), new_user(owner)
    answers = together(
        money,
        deposit(money, x, 1),  # x's and y's take the places
        deposit(money, y, 1),
        deposit(money, b, 2),
        deposit(money, a, 50, "used-before"),  # a retry of the first: the unique index refuses the statement
        deposit(money, c, 3),
    )

    assert all(isinstance(answer, Posted) for answer in answers), answers
    assert answers[3].transaction == first.transaction  # what the first call wrote, replayed
    assert sent_together() == [3]  # refused as a whole ...
    assert sent_alone() == IN_FLIGHT + 3  # ... and each of its deposits sent again alone
    assert [row[:2] for row in ledger(owner, a)] == [(50, 50)]
    assert [row[:2] for row in ledger(owner, b)] == [(2, 2)]
    assert [row[:2] for row in ledger(owner, c)] == [(3, 3)]
    assert [row[:2] for row in ledger(owner, x) + ledger(owner, y)] == [(1, 1), (1, 1)]
    assert money.reconcile().clean


def test_the_same_request_id_twice_among_those_waiting_goes_with_the_next_statement(money, owner):
    a, b, c = new_user(owner), new_user(owner), new_user(owner)

    answers = together(
        money,
        deposit(money, a, 1),
        deposit(money, b, 1),
        deposit(money, c, 5, "sent-twice"),
        deposit(money, c, 5, "sent-twice"),  # a retry sent before the first was answered
        deposit(money, c, 7),
    )

    assert all(isinstance(answer, Posted) for answer in answers), answers
    assert answers[2].transaction == answers[3].transaction
    assert sent_together() == [2]  # the first with the other one, the retry after them
    assert [row[:2] for row in ledger(owner, c)] == [(5, 5), (7, 12)]
    assert money.reconcile().clean


def behind_both_places(
    money: Money,
    owner_url: str,
    owner: Engine,
    *waiting: Coroutine[Any, Any, Posted],
    meanwhile: Callable[[Sequence[asyncio.Future[Posted]]], Awaitable[None]],
) -> list[Any]:
    """Two deposits on a row the test keeps locked take both places; then `waiting` start
    and wait for one, while `meanwhile` runs (given their futures); the lock is released
    after it. The answers or errors of all, in order."""
    hot = new_user(owner)

    async def scene() -> list[Any]:
        async with row_locked(owner_url, hot):
            places = [asyncio.ensure_future(deposit(money, hot, amount)) for amount in (1, 2)]
            calls = [asyncio.ensure_future(call) for call in waiting]
            await meanwhile(calls)
        return await asyncio.gather(*places, *calls, return_exceptions=True)

    return money.loop.run(scene())


def test_a_deposit_whose_deadline_passes_while_it_waits_is_not_sent(patient, owner, database):
    a = new_user(owner)

    async def past_its_deadline(_calls: Sequence[asyncio.Future[Posted]]) -> None:
        await asyncio.sleep(0.5)

    answers = behind_both_places(
        patient,
        database[1],
        owner,
        deposit(patient, a, 3, "in-a-hurry", deadline=0.2),
        deposit(patient, a, 4),
        meanwhile=past_its_deadline,
    )

    assert [type(answer) for answer in answers] == [Posted, Posted, DatabaseTimeout, Posted]
    assert [row[:2] for row in ledger(owner, a)] == [(4, 4)]
    assert patient.reconcile().clean


def test_a_caller_that_goes_away_while_its_deposit_waits_takes_it_out(patient, owner, database):
    a = new_user(owner)

    async def cancel_the_first(calls: Sequence[asyncio.Future[Posted]]) -> None:
        await asyncio.sleep(0.1)
        calls[0].cancel()  # its client cancelled the call
        await asyncio.sleep(0.1)

    waiting = (deposit(patient, a, 3), deposit(patient, a, 4))
    answers = behind_both_places(patient, database[1], owner, *waiting, meanwhile=cancel_the_first)

    assert [type(answer) for answer in answers] == [Posted, Posted, asyncio.CancelledError, Posted]
    assert [row[:2] for row in ledger(owner, a)] == [(4, 4)]
    assert sent_together() == []  # the one left went alone
    assert patient.reconcile().clean


def test_a_row_locked_for_long_holds_up_only_the_deposits_on_it(money, owner, database):
    gate, hot, a, b = (new_user(owner) for _ in range(4))

    async def scene() -> tuple[list[bool], list[bool], list[Any]]:
        async with row_locked(database[1], hot):
            async with row_locked(database[1], gate):
                calls = [
                    asyncio.ensure_future(deposit(money, gate, 1)),  # alone, meeting the gate's lock
                    asyncio.ensure_future(deposit(money, gate, 2)),
                    asyncio.ensure_future(deposit(money, hot, 3)),  # these three wait, then go together
                    asyncio.ensure_future(deposit(money, a, 4)),
                    asyncio.ensure_future(deposit(money, b, 5)),
                ]
                await asyncio.sleep(0.6)
                both_locked = [call.done() for call in calls]
            await asyncio.sleep(0.4)
            hot_locked = [call.done() for call in calls]
        return both_locked, hot_locked, await asyncio.gather(*calls, return_exceptions=True)

    both_locked, hot_locked, answers = money.loop.run(scene())

    # The first two gave up their places after TOGETHER_LOCK_TIMEOUT_MS (and waited for
    # the gate in the handler's transaction); the three went together, met the lock on
    # `hot`, gave up too, and went again alone: only the one on `hot` still waited.
    assert both_locked == [False, False, False, True, True]
    assert hot_locked == [True, True, False, True, True]
    assert all(isinstance(answer, Posted) for answer in answers), answers
    assert sent_together() == [3]  # sent, gave up on the lock and wrote nothing ...
    assert sent_alone() == IN_FLIGHT + 3  # ... and each of its deposits went alone
    assert [row[:2] for row in ledger(owner, hot)] == [(3, 3)]
    assert [row[:2] for row in ledger(owner, gate)] in ([(1, 1), (2, 3)], [(2, 2), (1, 3)])
    assert money.reconcile().clean


def test_no_statement_carries_more_than_deposit_batch_max(in_threes, owner):
    users = [new_user(owner) for _ in range(3)]

    answers = together(in_threes, *(deposit(in_threes, users[i % 3], i + 1) for i in range(10)))

    assert all(isinstance(answer, Posted) for answer in answers), answers
    assert sorted(sent_together()) == [2, 3, 3]  # in the order they ended
    assert sent_alone() == IN_FLIGHT
    assert [sum(row[0] for row in ledger(owner, user)) for user in users] == [22, 15, 18]
    assert in_threes.reconcile().clean


def test_a_deposit_batch_max_of_one_sends_every_deposit_alone(each_alone, owner):
    a = new_user(owner)

    answers = together(each_alone, *(deposit(each_alone, a, amount) for amount in range(1, 7)))

    assert all(isinstance(answer, Posted) for answer in answers), answers
    assert sent_together() == []
    assert sent_alone() == 6
    assert sorted(row[0] for row in ledger(owner, a)) == [1, 2, 3, 4, 5, 6]
    assert ledger(owner, a)[-1][1] == 21


def test_many_deposits_at_once_on_a_few_accounts_each_land_once(money, owner):
    users = [new_user(owner) for _ in range(3)]
    calls = [(users[i % len(users)], i + 1, uuid.uuid4().hex) for i in range(48)]

    answers = together(money, *(deposit(money, user, amount, rid) for user, amount, rid in calls))

    assert all(isinstance(answer, Posted) for answer in answers), answers
    assert max(sent_together()) > 1
    for user in users:
        rows = ledger(owner, user)
        wanted = [(amount, rid) for who, amount, rid in calls if who == user]
        assert sorted((amount, rid) for amount, _, rid in rows) == sorted(wanted)
        running = 0
        for amount, balance_after, _ in rows:  # each row's balance_after follows from the last
            running += amount
            assert balance_after == running
    assert money.reconcile().clean


def test_deposits_committed_together_whose_answer_was_lost_each_land_once(lossy, owner):
    money, proxy = lossy
    x, y, a, b = (new_user(owner) for _ in range(4))
    calls = [(x, 1), (y, 2), (a, 3), (b, 4), (a, 5)]  # x's and y's take the places
    ids = [uuid.uuid4().hex for _ in calls]
    lost = proxy.lost
    proxy.lose(carrying=ids[IN_FLIGHT])  # the answer of the deposits that go together

    sent = [deposit(money, user, amount, rid) for (user, amount), rid in zip(calls, ids, strict=True)]
    answers = together(money, *sent)

    assert proxy.lost == lost + 1
    assert all(isinstance(answer, Posted) for answer in answers), answers
    # Committed, its answer lost (asyncpg logs no statement whose connection died under
    # it); sent again on a new connection and refused by the request_ids it had written;
    # then each deposit alone, each finding its own row.
    assert sent_together() == [3]
    assert errors_met(TOGETHER) == [asyncpg.UniqueViolationError]
    assert collections.Counter(errors_met(ALONE)) == {None: IN_FLIGHT, asyncpg.UniqueViolationError: 3}
    assert ledger(owner, a) == [(3, 3, ids[2]), (5, 8, ids[4])]
    assert ledger(owner, b) == [(4, 4, ids[3])]
    assert (ledger(owner, x), ledger(owner, y)) == ([(1, 1, ids[0])], [(2, 2, ids[1])])
    # Each caller hears its own row, as the ledger has it (the lost answer's, replayed).
    rows = {row[2]: row for user in (x, y, a, b) for row in ledger(owner, user)}
    for request_id, answer in zip(ids, answers, strict=True):
        transaction = answer.transaction
        assert (transaction.amount, transaction.balance_after, transaction.request_id) == rows[request_id]
    assert {k: v for user in (x, y, a, b) for k, v in audited(owner, user).items()} == {
        answer.transaction.request_id: answer.transaction.id for answer in answers
    }
    assert money.reconcile().clean


def test_a_deposit_committed_alone_whose_answer_was_lost_lands_once(lossy, owner):
    money, proxy = lossy
    a = new_user(owner)
    lost = proxy.lost
    proxy.lose(carrying="lost-answer")

    (answer,) = together(money, deposit(money, a, 7, "lost-answer"))

    assert proxy.lost == lost + 1
    assert isinstance(answer, Posted), answer
    # Committed, its answer lost (not logged, as above); sent again on a new connection and
    # refused by its request_id; the handler then finds the row it had written.
    assert errors_met(ALONE) == [asyncpg.UniqueViolationError]
    assert ledger(owner, a) == [(7, 7, "lost-answer")]
    assert answer.transaction.id == audited(owner, a)["lost-answer"]
    assert (answer.transaction.amount, answer.balance.available) == (7, 7)
    assert money.reconcile().clean
