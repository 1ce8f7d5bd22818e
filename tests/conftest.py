"""Shared fixtures. Integration and e2e tests run against the machine's PostgreSQL on
127.0.0.1:5432 (a fresh database per session) and never stop it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.support.databases import temporary_database
from tests.support.server_process import TEST_JWT_SECRET, service_env
from user_service.storage.database import make_engine


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A database at the newest schema, for the whole session; tests use fresh random ids."""
    with temporary_database(migrated=True) as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=4)
    yield engine
    engine.dispose()


@pytest.fixture
def env(database_url: str, tmp_path) -> dict[str, str]:
    """Settings for a service process against the session database."""
    return service_env(
        DATABASE_URL=database_url, JWT_SECRET=TEST_JWT_SECRET, DATA_DIR=str(tmp_path / ".data")
    )
