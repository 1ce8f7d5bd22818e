"""Balance handlers in the test process, on a database as the service's own role, and the
users and callers to use them with. BalancesHandler's coroutines (its hot calls, which the
server runs on its event loop) run on an event loop thread of the test's own, so that
tests call them as they call the others, from as many threads as they like."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Engine, text

from tests.support.loop_thread import Blocking, LoopThread
from user_service.config import Settings
from user_service.domain.balances import BalancesHandler
from user_service.domain.hold_sweeper import HoldSweeper
from user_service.domain.holds import HoldsHandler
from user_service.domain.model import Principal, Role
from user_service.domain.reconciliation import ReconciliationReport, reconcile
from user_service.domain.transfers import TransfersHandler
from user_service.storage import deposit_batches
from user_service.storage.database import loop_connector, make_engine, session_factory
from user_service.storage.deposit_batches import IN_FLIGHT, DepositBatches
from user_service.storage.loop_pool import Connect, LoopPool
from user_service.storage.loop_statements import LoopStatements
from user_service.storage.session_limits import SessionLimits
from user_service.storage.unit_of_work import CONFLICT_RETRIES, Transactions

MAX_AMOUNT = 100_000_000


@dataclass
class Money:
    engine: Engine
    transactions: Transactions
    balances: Blocking  # a BalancesHandler whose coroutines block until done
    transfers: TransfersHandler
    holds: HoldsHandler
    sweeper: HoldSweeper
    loop: LoopThread  # where `balances` runs its coroutines
    on_loop: BalancesHandler  # the same handler, for coroutines run on `loop` together

    def reconcile(self) -> ReconciliationReport:
        return reconcile(self.transactions)


@contextlib.contextmanager
def money_on(
    url: str,
    *,
    pool_size: int = 16,
    conflict_retries: int = CONFLICT_RETRIES,
    connect_args: dict[str, Any] | None = None,
    on_loop_connect: Callable[[asyncpg.Connection], None] | None = None,
    deposit_batch_max: int = Settings().deposit_batch_max,
    together_lock_timeout_ms: int = deposit_batches.TOGETHER_LOCK_TIMEOUT_MS,
    together_url: str | None = None,
) -> Iterator[Money]:
    """The handlers as the server wires them, on pools of `pool_size` connections (SQLAlchemy's
    and the event loop's); `conflict_retries=0` lets every deadlock or lock timeout reach
    the caller; `on_loop_connect` sees each new connection of the event loop's pool;
    `deposit_batch_max` is DEPOSIT_BATCH_MAX, `together_lock_timeout_ms` how long the
    deposits' own connections wait for a row lock, and `together_url` where they connect
    (`url` unless given)."""
    limits = SessionLimits()
    engine = make_engine(url, pool_size=pool_size, limits=limits, connect_args=connect_args)
    transactions = Transactions(session_factory(engine, limits), conflict_retries)
    connected = _connector(url, limits, on_loop_connect)
    statements = LoopStatements(LoopPool(connected, pool_size, timeout_seconds=30), limits)
    together_limits = deposit_batches.together_limits(limits, together_lock_timeout_ms)
    together_connect = _connector(together_url or url, together_limits, on_loop_connect)
    together = LoopStatements(LoopPool(together_connect, IN_FLIGHT, timeout_seconds=30), together_limits)
    deposits = DepositBatches(statements, together, deposit_batch_max)
    balances = BalancesHandler(transactions, statements, deposits, MAX_AMOUNT)
    with LoopThread() as loop:
        try:
            yield Money(
                engine,
                transactions,
                Blocking(balances, loop),
                TransfersHandler(transactions, MAX_AMOUNT),
                HoldsHandler(transactions, MAX_AMOUNT),
                HoldSweeper(transactions),
                loop,
                balances,
            )
        finally:
            loop.run(statements.close())
            loop.run(together.close())
            engine.dispose()


def _connector(
    url: str, limits: SessionLimits, on_connect: Callable[[asyncpg.Connection], None] | None
) -> Connect:
    connect = loop_connector(url, limits)

    async def connected() -> asyncpg.Connection:
        connection = await connect()
        if on_connect is not None:
            on_connect(connection)
        return connection

    return connected


def new_user(engine: Engine, *roles: str) -> uuid.UUID:
    """A user with an empty USD account, made as the owner."""
    with engine.begin() as connection:
        user_id = connection.execute(
            text("INSERT INTO users (email, password_hash, roles) VALUES (:email, 'h', :roles) RETURNING id"),
            {"email": f"money-{uuid.uuid4().hex[:12]}@example.com", "roles": list(roles or ("user",))},
        ).scalar_one()
        connection.execute(text("INSERT INTO accounts (user_id) VALUES (:id)"), {"id": user_id})
    return uuid.UUID(str(user_id))


def ledger(owner: Engine, user: uuid.UUID) -> list[tuple[int, int, str]]:
    """The account's ledger rows in id order: (amount, balance_after, request_id)."""
    with owner.connect() as connection:
        return [
            (row.amount, row.balance_after, row.request_id)
            for row in connection.execute(
                text(
                    "SELECT l.amount, l.balance_after, l.request_id FROM ledger_transactions l"
                    " JOIN accounts a ON a.id = l.account_id WHERE a.user_id = :id ORDER BY l.id"
                ),
                {"id": user},
            )
        ]


def delete_user(engine: Engine, user_id: uuid.UUID) -> None:
    """As DeleteUser does (at a zero balance): personal data gone, the row kept, its
    accounts closed."""
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE accounts SET close_time = now() WHERE user_id = :id"), {"id": user_id}
        )
        connection.execute(
            text(
                "UPDATE users SET email = NULL, password_hash = NULL, full_name = '', is_active = false,"
                " delete_time = now() WHERE id = :id"
            ),
            {"id": user_id},
        )


def acting_as(user_id: uuid.UUID, *roles: str) -> Principal:
    return Principal(user_id, frozenset(Role(r) for r in roles or ("user",)), "session", uuid.uuid4().hex)


def service_principal() -> Principal:
    return acting_as(uuid.uuid4(), "service")


def age_holds(engine: Engine, *hold_ids: uuid.UUID) -> None:
    """Make holds look an hour past their expire_time (the CHECK wants it after create_time)."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE holds SET create_time = now() - interval '2 hours',"
                " expire_time = now() - interval '1 hour' WHERE id = ANY(:ids)"
            ),
            {"ids": list(hold_ids)},
        )


def audit_count(engine: Engine, action: str, **details: str | int) -> int:
    """Audit rows of `action` whose details include `details`."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM audit_events"
                    " WHERE action = :action AND details @> CAST(:d AS jsonb)"
                ),
                {"action": action, "d": json.dumps(details)},
            ).scalar_one()
        )


def figures(engine: Engine, user_id: uuid.UUID) -> tuple[int, int]:
    """(available, held) as the database has them."""
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT available, held FROM accounts WHERE user_id = :id"), {"id": user_id}
        ).one()
    return int(row.available), int(row.held)
