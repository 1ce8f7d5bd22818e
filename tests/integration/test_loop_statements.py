"""The hot statements on the event loop (storage/loop_statements.py) and their connections
(storage/loop_pool.py), on the machine's PostgreSQL: what each failure becomes, dead
connections replaced, deadlines kept, and a pool that hands connections out fairly and
never loses one."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

import asyncpg
import pytest
import uvloop
from sqlalchemy import Engine, text

from tests.support.network import free_port
from user_service import deadlines
from user_service.storage.database import loop_connector
from user_service.storage.errors import (
    DatabaseBusy,
    DatabaseTimeout,
    DatabaseUnavailable,
    TransactionConflict,
    UniqueViolation,
    ValueOutOfRange,
)
from user_service.storage.loop_pool import LoopPool
from user_service.storage.loop_statements import LoopStatements
from user_service.storage.session_limits import SessionLimits
from user_service.storage.statements import Statement

T = TypeVar("T")

ONE = Statement("SELECT %(n)s::int", lambda values: int(values[0]))
TWICE = Statement("SELECT %(n)s::int + %(n)s::int, %(m)s::int", lambda values: (values[0], values[1]))
NONE = Statement("SELECT 1 WHERE false", lambda values: values[0])
FAILS = Statement("SELECT 1 / %(zero)s::int", lambda values: values[0])
PID: Statement[Any] = Statement("SELECT pg_backend_pid()", lambda values: int(values[0]))
SLEEP = Statement("SELECT pg_sleep(%(seconds)s::float8)", lambda values: values[0])


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return uvloop.run(coroutine)


@contextlib.asynccontextmanager
async def statements_on(
    url: str, *, size: int = 1, limits: SessionLimits | None = None, timeout: float = 2.0
) -> AsyncIterator[LoopStatements]:
    """Statements on a pool of their own, its idle connections closed at the end."""
    limits = limits or SessionLimits()
    statements = LoopStatements(LoopPool(loop_connector(url, limits), size, timeout), limits)
    try:
        yield statements
    finally:
        await statements.close()


def test_a_statement_gives_its_first_row_or_none(scratch_url):
    async def scenario() -> Any:
        async with statements_on(scratch_url) as reads:
            return (
                await reads.one(ONE, {"n": 7}),
                await reads.one(TWICE, {"n": 2, "m": 5}),  # a name used twice is one parameter
                await reads.one(NONE, {}),
            )

    assert run(scenario()) == (7, (4, 5), None)


def test_every_connection_starts_with_statement_lock_and_idle_timeouts(scratch_url):
    limits = SessionLimits(
        statement_timeout_ms=4000, lock_timeout_ms=1500, idle_in_transaction_timeout_ms=9000
    )
    shows = [
        Statement(f"SHOW {name}", lambda values: values[0])
        for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
    ]

    async def scenario() -> Any:
        async with statements_on(scratch_url, limits=limits) as reads:
            return [await reads.one(show, {}) for show in shows]

    assert run(scenario()) == ["4s", "1500ms", "9s"]


def test_a_bug_in_a_statement_stays_a_bug_and_its_connection_serves_on(scratch_url):
    async def scenario() -> Any:
        async with statements_on(scratch_url) as reads:
            pid = await reads.one(PID, {})
            with pytest.raises(asyncpg.DivisionByZeroError):
                await reads.one(FAILS, {"zero": 0})
            return pid, await reads.one(PID, {})

    before, after = run(scenario())
    assert before == after  # the same connection, not dropped


def test_a_number_too_large_to_store_is_out_of_range(scratch_url):
    overflow = Statement("SELECT 9223372036854775807::bigint + %(n)s::bigint", lambda values: values[0])

    async def scenario() -> Any:
        async with statements_on(scratch_url) as reads:
            await reads.one(overflow, {"n": 1})

    with pytest.raises(ValueOutOfRange):
        run(scenario())


def test_a_conflict_and_a_unique_violation_name_themselves(scratch, scratch_url):
    with scratch.begin() as connection:
        connection.execute(
            text("CREATE TABLE IF NOT EXISTS unique_probe (id int CONSTRAINT unique_probe_pk PRIMARY KEY)")
        )
        connection.execute(
            text(
                "CREATE OR REPLACE FUNCTION conflict() RETURNS int LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40P01'; END $$"
            )
        )
    insert = Statement("INSERT INTO unique_probe VALUES (%(id)s) RETURNING id", lambda values: values[0])

    async def scenario() -> Any:
        async with statements_on(scratch_url) as reads:
            assert await reads.one(insert, {"id": 1}) == 1
            with pytest.raises(UniqueViolation) as violated:
                await reads.one(insert, {"id": 1})
            assert violated.value.constraint == "unique_probe_pk"
            with pytest.raises(TransactionConflict):
                await reads.one(Statement("SELECT conflict()", lambda values: values[0]), {})

    run(scenario())


def test_a_dead_pooled_connection_is_replaced_without_the_caller_noticing(scratch, scratch_url):
    async def scenario() -> Any:
        async with statements_on(scratch_url) as reads:
            pid = await reads.one(PID, {})
            await asyncio.to_thread(terminate, scratch, pid)
            return pid, await reads.one(PID, {})

    first, second = run(scenario())
    assert second is not None
    assert second != first


def terminate(engine: Engine, pid: Any) -> None:
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    time.sleep(0.1)


def test_an_unreachable_database_is_unavailable():
    async def scenario() -> Any:
        async with statements_on(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres") as reads:
            await reads.one(ONE, {"n": 1})

    with pytest.raises(DatabaseUnavailable):
        run(scenario())


def test_a_statement_past_its_deadline_does_not_start(scratch_url):
    async def scenario() -> Any:
        async with statements_on(scratch_url) as reads:
            with deadlines.call_deadline(0):
                await reads.one(ONE, {"n": 1})

    with pytest.raises(DatabaseTimeout):
        run(scenario())


def test_a_short_deadline_shortens_the_statement_timeout(scratch, scratch_url):
    async def scenario() -> Any:
        async with statements_on(scratch_url, limits=SessionLimits(statement_timeout_ms=60000)) as reads:
            started = time.monotonic()
            with deadlines.call_deadline(0.3), pytest.raises(DatabaseTimeout):
                await reads.one(SLEEP, {"seconds": 10})
            return time.monotonic() - started

    assert run(scenario()) < 3
    with scratch.connect() as connection:
        assert (
            connection.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(%'")
            ).scalar()
            == 0
        )


def test_a_full_pool_answers_busy_after_its_timeout_or_timeout_at_the_calls_deadline(scratch_url):
    async def scenario() -> Any:
        async with statements_on(scratch_url, size=1, timeout=0.3) as reads:
            holder = asyncio.create_task(reads.one(SLEEP, {"seconds": 1.5}))
            await asyncio.sleep(0.2)  # the holder has the pool's only connection
            try:
                started = time.monotonic()
                with pytest.raises(DatabaseBusy):
                    await reads.one(ONE, {"n": 1})
                busy = time.monotonic() - started
                started = time.monotonic()
                with deadlines.call_deadline(0.1), pytest.raises(DatabaseTimeout):
                    await reads.one(ONE, {"n": 1})
                return busy, time.monotonic() - started
            finally:
                await holder

    busy, timed_out = run(scenario())
    assert 0.25 < busy < 1.0
    assert timed_out < 0.25


def test_waiters_are_served_in_turn_by_the_connections_given_back(scratch_url):
    async def scenario() -> Any:
        async with statements_on(scratch_url, size=2, timeout=10) as reads:
            done: list[int] = []

            async def call(number: int) -> None:
                await reads.one(SLEEP, {"seconds": 0.05})
                done.append(number)

            calls = []
            for number in range(8):
                calls.append(asyncio.create_task(call(number)))
                await asyncio.sleep(0.005)  # queued in this order
            await asyncio.gather(*calls)
            pids = {await reads.one(PID, {}) for _ in range(6)}
            assert len(pids) <= 2  # never more connections than the pool's size
            return done

    done = run(scenario())
    assert sorted(done) == list(range(8))
    assert done[:2] == [0, 1]


def test_a_connection_that_dies_under_a_waiter_leaves_room_for_a_new_one(scratch, scratch_url):
    """The pool's only connection is killed while a second call waits: the waiter makes a
    fresh connection in its place instead of waiting out the timeout (and the killed
    statement runs again once, on a connection of its own, as any found dead does)."""

    async def scenario() -> Any:
        async with statements_on(scratch_url, size=1, timeout=5) as reads:
            pid = await reads.one(PID, {})
            holder = asyncio.create_task(reads.one(SLEEP, {"seconds": 2}))
            await asyncio.sleep(0.2)
            waiter = asyncio.create_task(reads.one(PID, {}))
            await asyncio.sleep(0.1)
            started = time.monotonic()
            await asyncio.to_thread(terminate, scratch, pid)
            found = await waiter
            assert time.monotonic() - started < 1.5  # not the holder's 2 s, nor the pool's 5 s
            await holder
            return found

    assert run(scenario()) is not None


def test_a_cancelled_call_gives_back_no_connection_in_the_middle_of_a_statement(scratch, scratch_url):
    async def scenario() -> Any:
        async with statements_on(scratch_url, size=1, timeout=5) as reads:
            pid = await reads.one(PID, {})
            sleeping = asyncio.create_task(reads.one(SLEEP, {"seconds": 5}))
            await asyncio.sleep(0.2)
            sleeping.cancel()
            with pytest.raises(asyncio.CancelledError):
                await sleeping
            return pid, await reads.one(PID, {})

    before, after = run(scenario())
    assert before != after  # the cancelled one was closed, a new one answered


def test_after_a_restart_every_dead_idle_connection_is_skipped(scratch, scratch_url):
    """As after PostgreSQL restarts: every idle connection is dead, and a call still
    answers (more dead ones than its one retry would get past)."""

    async def scenario() -> Any:
        async with statements_on(scratch_url, size=3) as reads:
            pids = await asyncio.gather(
                *(
                    reads.one(Statement("SELECT pg_backend_pid(), pg_sleep(0.2)", lambda v: int(v[0])), {})
                    for _ in range(3)
                )
            )
            assert len(set(pids)) == 3
            for pid in pids:
                await asyncio.to_thread(terminate, scratch, pid)
            return await reads.one(PID, {})

    assert run(scenario()) is not None
