"""Engines and sessions: one pool sized to the server's worker threads, one connection
for health checks, and the embedded PostgreSQL when no DATABASE_URL is given."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine, create_engine, exc, text
from sqlalchemy.orm import Session, sessionmaker

from user_service.config import Settings
from user_service.storage.embedded import embedded_postgres
from user_service.storage.unit_of_work import SqlUnitOfWork

# Errors that mean "the database cannot be reached now", not "the code is wrong".
DATABASE_UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (exc.OperationalError, exc.TimeoutError)
# Worker threads each hold at most one connection; background jobs take the overflow.
POOL_OVERFLOW = 4
CONNECT_TIMEOUT_SECONDS = 5


def normalize_url(url: str) -> str:
    """Use psycopg2 whatever the scheme says (SQLAlchemy 2.1 maps postgresql:// to psycopg 3)."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql+psycopg2://{rest}" if sep and scheme in ("postgres", "postgresql") else url


def make_engine(
    url: str, pool_size: int, *, max_overflow: int = POOL_OVERFLOW, statement_timeout_ms: int | None = None
) -> Engine:
    options = f"-c statement_timeout={statement_timeout_ms}" if statement_timeout_ms else ""
    return create_engine(
        normalize_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        # Parameters (password hashes, tokens) never appear in error messages or logs.
        hide_parameters=True,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "application_name": "user-service",
            "options": options,
        },
    )


@dataclass
class Database:
    engine: Engine
    health_engine: Engine
    session_factory: sessionmaker[Session]

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.session_factory)

    def ping(self) -> None:
        """Raise unless the database answers a query within a few seconds."""
        with self.health_engine.connect() as connection:
            connection.execute(text("SELECT 1"))


@contextlib.contextmanager
def open_database(settings: Settings) -> Iterator[Database]:
    with contextlib.ExitStack() as stack:
        url = settings.database_url or stack.enter_context(embedded_postgres(settings.data_dir))
        engine = make_engine(url, pool_size=settings.grpc_max_workers)
        stack.callback(engine.dispose)
        health_engine = make_engine(
            url, pool_size=1, max_overflow=0, statement_timeout_ms=CONNECT_TIMEOUT_SECONDS * 1000
        )
        stack.callback(health_engine.dispose)
        yield Database(engine, health_engine, sessionmaker(engine, expire_on_commit=False))
