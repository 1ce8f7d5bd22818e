"""Databases of their own for tests, on the machine's PostgreSQL (127.0.0.1:5432)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator

from sqlalchemy import create_engine, text

from user_service.storage import migrate
from user_service.storage.database import make_engine

# The machine's PostgreSQL: trust auth, user postgres. Tests create databases on it and
# drop them; they never stop it.
ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


@contextlib.contextmanager
def temporary_database(*, migrated: bool) -> Iterator[str]:
    """A fresh database with a random name (blank, or at the newest schema), dropped after."""
    name = f"user_service_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        if migrated:
            engine = make_engine(url, pool_size=1)
            migrate.upgrade(engine)
            engine.dispose()
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
