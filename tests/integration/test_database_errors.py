"""What the database says, as the caller hears it: each kind of failure becomes its own
domain error (and so its own gRPC status), conflicts and dead connections are retried
where that is safe, and no call's database work outlives its deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import grpc
import psycopg2.extensions
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from tests.support.network import free_port
from tests.support.probe import Probe, behave
from tests.support.statuses import status_details
from user_service import deadlines
from user_service.storage.database import make_engine, session_factory
from user_service.storage.errors import (
    DatabaseBusy,
    DatabaseTimeout,
    DatabaseUnavailable,
    TransactionConflict,
    ValueOutOfRange,
)
from user_service.storage.session_limits import SessionLimits
from user_service.storage.statements import Statement, Statements
from user_service.storage.unit_of_work import SqlUnitOfWork, Transactions

FAST = SessionLimits(statement_timeout_ms=300, lock_timeout_ms=200, idle_in_transaction_timeout_ms=5000)


class CountingCursor(psycopg2.extensions.cursor):
    """Counts the statements a connection sends (SQLAlchemy's pings included)."""

    executed: ClassVar[list[str]] = []

    def execute(self, query: Any, vars: Any = None) -> Any:
        CountingCursor.executed.append(str(query))
        return super().execute(query, vars)


def transactions_on(
    url: str, *, limits: SessionLimits = FAST, **engine_options: Any
) -> tuple[Engine, Transactions]:
    engine = make_engine(url, limits=limits, **{"pool_size": 2, **engine_options})
    return engine, Transactions(session_factory(engine, limits))


@pytest.fixture
def transactions(scratch_url) -> Iterator[Transactions]:
    engine, made = transactions_on(scratch_url)
    yield made
    engine.dispose()


def sql(statement: str, **params: Any):
    def work(uow: SqlUnitOfWork) -> Any:
        return uow.session.execute(text(statement), params).scalar()

    return work


def raising(sqlstate: str) -> str:
    return f"DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '{sqlstate}'; END $$"


def test_an_unreachable_database_is_unavailable():
    engine, transactions = transactions_on(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres")

    with pytest.raises(DatabaseUnavailable) as failed:
        transactions.run(sql("SELECT 1"))

    assert failed.value.code == "UNAVAILABLE"
    assert failed.value.reason == "DATABASE_UNAVAILABLE"
    engine.dispose()


def test_a_statement_timeout_is_deadline_exceeded(transactions):
    started = time.monotonic()

    with pytest.raises(DatabaseTimeout) as failed:
        transactions.run(sql("SELECT pg_sleep(5)"))

    assert failed.value.code == "DEADLINE_EXCEEDED"
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(("sqlstate", "cause"), [("40001", "serialization failure"), ("40P01", "deadlock")])
def test_serialization_failures_and_deadlocks_are_aborted_after_bounded_retries(
    transactions, sqlstate, cause
):
    attempts = []

    def always_conflicting(uow: SqlUnitOfWork) -> None:
        attempts.append(1)
        uow.session.execute(text(raising(sqlstate)))

    with pytest.raises(TransactionConflict) as failed:
        transactions.run(always_conflicting)

    assert (failed.value.code, failed.value.reason, failed.value.cause) == (
        "ABORTED",
        "TRANSACTION_CONFLICT",
        cause,
    )
    assert len(attempts) == 4  # the first try and three more


def test_a_conflict_that_clears_is_retried_to_success(transactions):
    attempts = []

    def conflicting_twice(uow: SqlUnitOfWork) -> str:
        attempts.append(1)
        if len(attempts) <= 2:
            uow.session.execute(text(raising("40001")))
        return "done"

    assert transactions.run(conflicting_twice) == "done"
    assert len(attempts) == 3


def test_no_retry_when_the_deadline_leaves_no_time(transactions):
    attempts = []

    def conflicting(uow: SqlUnitOfWork) -> None:
        attempts.append(1)
        uow.session.execute(text(raising("40001")))

    with deadlines.call_deadline(0.005), pytest.raises((TransactionConflict, DatabaseTimeout)):
        transactions.run(conflicting)

    assert len(attempts) <= 1  # tried at most once: no time left for a retry


def test_a_real_deadlock_is_a_conflict(scratch, scratch_url):
    with scratch.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS deadlock_probe (id int PRIMARY KEY)"))
        connection.execute(text("INSERT INTO deadlock_probe VALUES (1), (2) ON CONFLICT DO NOTHING"))
    patient = SessionLimits(statement_timeout_ms=10000, lock_timeout_ms=10000)
    pooled = make_engine(scratch_url, pool_size=2, limits=patient)
    no_retry = Transactions(session_factory(pooled, patient), conflict_retries=0)
    both_locked_one = threading.Barrier(2)
    outcomes: list[str] = []

    def lock_in_order(first: int, second: int) -> None:
        def work(uow: SqlUnitOfWork) -> None:
            uow.session.execute(
                text("SELECT id FROM deadlock_probe WHERE id = :id FOR UPDATE"), {"id": first}
            )
            both_locked_one.wait()
            uow.session.execute(
                text("SELECT id FROM deadlock_probe WHERE id = :id FOR UPDATE"), {"id": second}
            )

        try:
            no_retry.run(work)
            outcomes.append("done")
        except TransactionConflict as error:
            outcomes.append(error.cause)

    threads = [threading.Thread(target=lock_in_order, args=order) for order in ((1, 2), (2, 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    pooled.dispose()

    assert sorted(outcomes) == ["deadlock", "done"]


def test_a_lock_wait_past_the_lock_timeout_is_a_conflict(scratch, transactions):
    with scratch.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS lock_probe (id int PRIMARY KEY)"))
        connection.execute(text("INSERT INTO lock_probe VALUES (1) ON CONFLICT DO NOTHING"))
    with scratch.connect() as holder:
        holder.execute(text("SELECT id FROM lock_probe WHERE id = 1 FOR UPDATE"))

        with pytest.raises(TransactionConflict) as failed:
            transactions.run(sql("SELECT id FROM lock_probe WHERE id = 1 FOR UPDATE"))

        holder.rollback()
    assert failed.value.cause == "lock timeout"


def test_pool_exhaustion_is_unavailable_with_retry_info(scratch_url):
    engine, transactions = transactions_on(scratch_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    with engine.connect(), pytest.raises(DatabaseBusy) as failed:  # the only connection, taken
        transactions.run(sql("SELECT 1"))
    engine.dispose()

    assert (failed.value.code, failed.value.reason) == ("UNAVAILABLE", "DATABASE_BUSY")
    assert failed.value.retry_after_seconds == 1.0


def test_a_bigint_overflow_is_invalid_argument(transactions):
    with pytest.raises(ValueOutOfRange) as failed:
        transactions.run(sql("SELECT 9223372036854775807::bigint + 1"))

    assert failed.value.code == "INVALID_ARGUMENT"
    assert [v.reason for v in failed.value.violations] == ["VALUE_OUT_OF_RANGE"]


def test_a_violated_check_is_a_bug_not_a_domain_error(scratch, transactions):
    with scratch.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS check_probe (n int CHECK (n > 0))"))

    with pytest.raises(IntegrityError):
        transactions.run(sql("INSERT INTO check_probe VALUES (-1)"))


def backend_pid(uow: SqlUnitOfWork) -> int:
    return int(uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate(engine: Engine, pid: int) -> None:
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    time.sleep(0.1)


def test_a_dead_pooled_connection_is_replaced_without_the_caller_noticing(scratch, scratch_url):
    pooled, transactions = transactions_on(scratch_url, pool_size=1, max_overflow=0)
    first = transactions.run(backend_pid)
    terminate(scratch, first)

    second = transactions.run(backend_pid)

    assert second != first
    pooled.dispose()


def test_a_connection_lost_at_commit_is_not_run_again(scratch, scratch_url):
    pooled, transactions = transactions_on(scratch_url, pool_size=1, max_overflow=0)
    attempts = []

    def dies_before_commit(uow: SqlUnitOfWork) -> None:
        attempts.append(1)
        terminate(scratch, backend_pid(uow))
        uow.commit()

    with pytest.raises(DatabaseUnavailable):
        transactions.run(dies_before_commit)

    assert len(attempts) == 1  # COMMIT may have happened: never twice
    pooled.dispose()


def test_connections_are_not_pinged_before_each_use(scratch_url):
    """A ping would cost a round trip on every unit of work."""
    pooled, transactions = transactions_on(
        scratch_url, pool_size=1, max_overflow=0, connect_args={"cursor_factory": CountingCursor}
    )
    transactions.run(sql("SELECT 1"))
    CountingCursor.executed.clear()

    transactions.run(sql("SELECT 2"))

    assert CountingCursor.executed == ["SELECT 2"]
    pooled.dispose()


def test_every_connection_starts_with_statement_lock_and_idle_timeouts(scratch_url):
    limits = SessionLimits(
        statement_timeout_ms=4000, lock_timeout_ms=1500, idle_in_transaction_timeout_ms=9000
    )
    pooled = make_engine(scratch_url, pool_size=1, limits=limits)
    with pooled.connect() as connection:
        shown = [
            connection.execute(text(f"SHOW {name}")).scalar()
            for name in ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
        ]
    pooled.dispose()

    assert shown == ["4s", "1500ms", "9s"]


def test_a_short_deadline_shortens_the_statement_and_lock_timeouts(scratch_url):
    limits = SessionLimits(statement_timeout_ms=60000, lock_timeout_ms=60000)
    engine, transactions = transactions_on(scratch_url, limits=limits)
    started = time.monotonic()

    with deadlines.call_deadline(0.3), pytest.raises(DatabaseTimeout):
        transactions.run(sql("SELECT pg_sleep(10)"))

    assert time.monotonic() - started < 3
    with deadlines.call_deadline(0.3):
        shown = transactions.run(
            lambda uow: [
                str(uow.session.execute(text(f"SHOW {name}")).scalar())
                for name in ("statement_timeout", "lock_timeout")
            ]
        )
    assert all(value.endswith("ms") and int(value[:-2]) <= 300 for value in shown), shown
    engine.dispose()


def test_a_call_past_its_deadline_does_not_touch_the_database(transactions):
    with deadlines.call_deadline(0), pytest.raises(DatabaseTimeout):
        transactions.run(sql("SELECT 1"))


def active_sleeps(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE query LIKE 'SELECT pg_sleep(7)%' AND state = 'active' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
        )


def test_a_calls_database_work_ends_with_its_grpc_deadline(scratch, scratch_url):
    """The client gives up after 0.5 s; the statement it started must not run on for 7 s."""
    pooled, transactions = transactions_on(scratch_url, limits=SessionLimits(statement_timeout_ms=60000))
    with Probe() as probe:
        request = behave(lambda _context: transactions.run(sql("SELECT pg_sleep(7)")) or b"")

        with pytest.raises(grpc.RpcError) as failed:
            probe.method("Public")(request, timeout=0.5)
        assert failed.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

        time.sleep(1.0)
        assert active_sleeps(scratch) == 0
    pooled.dispose()


@pytest.mark.parametrize(
    ("statement", "code", "reason"),
    [
        ("SELECT pg_sleep(5)", grpc.StatusCode.DEADLINE_EXCEEDED, "DATABASE_TIMEOUT"),
        (raising("40P01"), grpc.StatusCode.ABORTED, "TRANSACTION_CONFLICT"),
        ("SELECT 9223372036854775807::bigint + 1", grpc.StatusCode.INVALID_ARGUMENT, "VALUE_OUT_OF_RANGE"),
        (raising("57P01"), grpc.StatusCode.UNAVAILABLE, "DATABASE_UNAVAILABLE"),
    ],
    ids=["timeout", "deadlock", "overflow", "admin-shutdown"],
)
def test_each_database_failure_reaches_the_caller_as_its_own_status(transactions, statement, code, reason):
    with Probe() as probe, pytest.raises(grpc.RpcError) as failed:
        probe.method("Public")(behave(lambda _context: transactions.run(sql(statement)) or b""))

    assert failed.value.code() == code
    assert status_details(failed.value)["ErrorInfo"].reason == reason


ONE = Statement("SELECT %(n)s::int", lambda values: int(values[0]))
FAILS = Statement("SELECT 1 / %(zero)s::int", lambda values: values[0])


def test_a_read_answers_in_one_statement(scratch_url):
    engine = make_engine(scratch_url, pool_size=1, max_overflow=0)
    assert Statements(engine, SessionLimits()).one(ONE, {"n": 7}) == 7
    engine.dispose()


def test_a_failed_read_never_leaves_its_connection_in_autocommit(scratch, scratch_url):
    """The pool's one connection, after a read that failed, must still roll back what a
    transaction did not commit."""
    with scratch.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS autocommit_probe (n int)"))
    engine, transactions = transactions_on(scratch_url, pool_size=1, max_overflow=0)
    with pytest.raises(Exception, match="division by zero"):
        Statements(engine, SessionLimits()).one(FAILS, {"zero": 0})

    def write_then_fail(uow: SqlUnitOfWork) -> None:
        uow.session.execute(text("INSERT INTO autocommit_probe VALUES (42)"))
        raise RuntimeError("the transaction ends here, uncommitted")

    with pytest.raises(RuntimeError):
        transactions.run(write_then_fail)
    engine.dispose()
    with scratch.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM autocommit_probe WHERE n = 42")).scalar() == 0


def test_a_dead_pooled_connection_is_replaced_for_a_read(scratch, scratch_url):
    engine = make_engine(scratch_url, pool_size=1, max_overflow=0)
    reads = Statements(engine, SessionLimits())
    pid = reads.one(Statement("SELECT pg_backend_pid()", lambda values: int(values[0])), {})
    assert pid is not None
    terminate(scratch, pid)

    assert reads.one(ONE, {"n": 8}) == 8
    engine.dispose()


def test_a_read_of_an_unreachable_database_is_unavailable():
    engine = make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", pool_size=1)

    with pytest.raises(DatabaseUnavailable):
        Statements(engine, SessionLimits()).one(ONE, {"n": 1})
    engine.dispose()


def test_a_read_past_its_deadline_does_not_start(scratch_url):
    engine = make_engine(scratch_url, pool_size=1)

    with deadlines.call_deadline(0), pytest.raises(DatabaseTimeout):
        Statements(engine, SessionLimits()).one(ONE, {"n": 1})
    engine.dispose()


def test_waiting_for_a_pooled_connection_leaves_a_statement_less_time(scratch, scratch_url):
    """The statement's budget is what is left of the call once it has a connection: a
    lock released after the deadline must not let it write then, as it would with the
    budget it had before it waited for the pool."""
    with scratch.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS budget_probe (id int PRIMARY KEY, n int)"))
        connection.execute(text("INSERT INTO budget_probe VALUES (1, 0) ON CONFLICT (id) DO NOTHING"))
    engine = make_engine(scratch_url, pool_size=1, max_overflow=0)
    writes = Statements(engine, SessionLimits(statement_timeout_ms=60000, lock_timeout_ms=60000))
    bump = Statement("UPDATE budget_probe SET n = n + 1 WHERE id = 1 RETURNING n", lambda values: values[0])
    holder = scratch.connect()
    holder.begin()
    holder.execute(text("SELECT 1 FROM budget_probe WHERE id = 1 FOR UPDATE"))
    busy = engine.raw_connection()  # the pool's only connection, given back after 0.6 s
    threading.Timer(0.6, busy.close).start()
    threading.Timer(1.3, holder.commit).start()  # the lock goes after the call's 1 s

    with deadlines.call_deadline(1.0), pytest.raises((DatabaseTimeout, TransactionConflict)):
        writes.one(bump, {})

    time.sleep(0.5)  # past the lock's release: a statement still waiting would have written
    holder.close()
    engine.dispose()
    with scratch.connect() as connection:
        assert connection.execute(text("SELECT n FROM budget_probe WHERE id = 1")).scalar() == 0
