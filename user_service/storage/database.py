"""Engines and sessions: one pool sized to the server's worker threads, one connection
for health checks, asyncpg connections for the hot statements on the event loop (as many
again, and IN_FLIGHT more for deposits sent together), and the embedded PostgreSQL when no
DATABASE_URL is given.

Every connection carries timeouts (statement, lock, idle in transaction), so that no
query, lock wait or forgotten transaction holds a worker or a row for long; a call with a
gRPC deadline gets the time it has left instead, when that is shorter. Connections are
not pinged before use: a dead one is found by the transaction that uses it, which then
runs again once on a fresh one (see Transactions.run).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Connection, Engine, create_engine, event, exc, make_url, text
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from user_service import metrics
from user_service.config import Settings
from user_service.storage import deposit_batches
from user_service.storage.embedded import embedded_postgres
from user_service.storage.loop_pool import Connect, LoopPool
from user_service.storage.loop_statements import LoopStatements
from user_service.storage.session_limits import SessionLimits
from user_service.storage.statements import Statements
from user_service.storage.unit_of_work import Transactions

# Worker threads each hold at most one connection; background jobs take the overflow.
POOL_OVERFLOW = 4
CONNECT_TIMEOUT_SECONDS = 5


def normalize_url(url: str) -> str:
    """Use psycopg2 whatever the scheme says (SQLAlchemy 2.1 maps postgresql:// to psycopg 3)."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql+psycopg2://{rest}" if sep and scheme in ("postgres", "postgresql") else url


def make_engine(
    url: str,
    pool_size: int,
    *,
    max_overflow: int = POOL_OVERFLOW,
    limits: SessionLimits | None = None,
    pool_timeout: float = 30,
    connect_args: dict[str, Any] | None = None,
) -> Engine:
    engine = create_engine(
        normalize_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        # Parameters (password hashes, tokens) never appear in error messages or logs.
        hide_parameters=True,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "application_name": "user-service",
            "options": (limits or SessionLimits()).options(),
            **(connect_args or {}),
        },
    )
    event.listen(engine, "checkout", lambda *_: metrics.pool_in_use.inc())
    event.listen(engine, "checkin", lambda *_: metrics.pool_in_use.dec())
    return engine


def session_factory(engine: Engine, limits: SessionLimits) -> sessionmaker[Session]:
    """Sessions whose transactions end by the current call's deadline, when it has one."""
    factory = sessionmaker(engine, expire_on_commit=False)

    @event.listens_for(factory, "after_begin")
    def _within_the_deadline(
        _session: Session, _transaction: SessionTransaction, connection: Connection
    ) -> None:
        timeouts = limits.within_deadline()
        if timeouts is not None:
            connection.exec_driver_sql(
                "SELECT set_config('statement_timeout', %(statement)s, true),"
                " set_config('lock_timeout', %(lock)s, true)",
                {"statement": str(timeouts[0]), "lock": str(timeouts[1])},
            )

    return factory


def loop_connector(url: str, limits: SessionLimits) -> Connect:
    """How LoopPool makes a connection: asyncpg, with the same timeouts as the engines'."""
    dsn = make_url(normalize_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)
    settings = {"application_name": "user-service", **limits.server_settings()}

    def connect() -> Awaitable[asyncpg.Connection]:
        return asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_SECONDS, server_settings=settings)

    return connect


@dataclass
class Database:
    engine: Engine
    health_engine: Engine
    transactions: Transactions
    statements: Statements
    # The hot statements on the event loop, on connections of their own (made when needed).
    loop_statements: LoopStatements
    # Deposits sent together (storage/deposit_batches.py), on IN_FLIGHT connections of their
    # own, whose lock waits are short.
    deposits_together: LoopStatements

    async def close_loop_connections(self) -> None:
        await self.loop_statements.close()
        await self.deposits_together.close()

    def ping(self) -> None:
        """Raise unless the database answers a query within a few seconds. A connection that
        died since the last ping (the database restarted) gets one more try on a new one."""
        for attempt in (1, 2):
            try:
                with self.health_engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                return
            except exc.DBAPIError as error:
                if attempt == 2 or not error.connection_invalidated:
                    raise


def service_role(settings: Settings) -> str | None:
    """The role the service connects as, when migrations connect as another one."""
    if settings.migration_database_url is None or settings.database_url is None:
        return None
    return make_url(normalize_url(settings.database_url)).username


@contextlib.contextmanager
def open_database(settings: Settings, *, as_owner: bool = False) -> Iterator[Database]:
    """The service's database; `as_owner`: connected as the owner of the tables, to migrate."""
    with contextlib.ExitStack() as stack:
        configured = settings.owner_database_url if as_owner else settings.database_url
        url = configured or stack.enter_context(embedded_postgres(settings.data_dir))
        limits = SessionLimits.from_settings(settings)
        engine = make_engine(
            url,
            pool_size=settings.grpc_max_workers,
            limits=limits,
            pool_timeout=settings.database_pool_timeout_seconds,
        )
        stack.callback(engine.dispose)
        health_engine = make_engine(
            url,
            pool_size=1,
            max_overflow=0,
            limits=SessionLimits(statement_timeout_ms=CONNECT_TIMEOUT_SECONDS * 1000),
        )
        stack.callback(health_engine.dispose)
        loop_pool = LoopPool(
            loop_connector(url, limits), settings.grpc_max_workers, settings.database_pool_timeout_seconds
        )
        together = deposit_batches.together_limits(limits)
        together_pool = LoopPool(
            loop_connector(url, together), deposit_batches.IN_FLIGHT, settings.database_pool_timeout_seconds
        )
        yield Database(
            engine,
            health_engine,
            Transactions(session_factory(engine, limits)),
            Statements(engine, limits),
            LoopStatements(loop_pool, limits),
            LoopStatements(together_pool, together),
        )
