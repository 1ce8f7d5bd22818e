"""Databases and roles of their own for tests, on the machine's PostgreSQL (127.0.0.1:5432)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

from sqlalchemy import Engine, create_engine, make_url, text

from user_service.storage import migrate
from user_service.storage.database import make_engine

# The machine's PostgreSQL: trust auth, user postgres. Tests create databases and roles on
# it and drop them; they never stop it.
ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def _admin_execute(statement: str) -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(statement))
    finally:
        admin.dispose()


@contextlib.contextmanager
def login_role() -> Iterator[str]:
    """A role that may log in and owns nothing (as the service's role in production), dropped after."""
    name = f"user_service_app_{uuid.uuid4().hex[:12]}"
    _admin_execute(f'CREATE ROLE "{name}" LOGIN')
    try:
        yield name
    finally:
        _admin_execute(f'DROP ROLE IF EXISTS "{name}"')


def as_role(url: str, role: str) -> str:
    """The same database, connected as `role`."""
    return make_url(url).set(username=role).render_as_string(hide_password=False)


@contextlib.contextmanager
def temporary_database(*, migrated: bool, service_role: str | None = None) -> Iterator[str]:
    """A fresh database with a random name (blank, or at the newest schema with row access
    granted to `service_role`), dropped after. Yields the owner's URL."""
    name = f"user_service_test_{uuid.uuid4().hex[:12]}"
    _admin_execute(f'CREATE DATABASE "{name}"')
    try:
        url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        if migrated:
            engine = make_engine(url, pool_size=1)
            migrate.upgrade(engine, service_role=service_role)
            engine.dispose()
        yield url
    finally:
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def lock_waiters(owner: Engine, database: str, blocker: int | None = None) -> int:
    """The service's connections waiting on a lock in `database` (held by the backend
    `blocker`, if given)."""
    with owner.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :db"
                    " AND application_name = 'user-service' AND wait_event_type = 'Lock'"
                    " AND (CAST(:blocker AS int) IS NULL OR :blocker = ANY(pg_blocking_pids(pid)))"
                ),
                {"db": database, "blocker": blocker},
            ).scalar_one()
        )
