"""Shared fixtures. Integration and e2e tests run against the machine's PostgreSQL on
127.0.0.1:5432 (a fresh database per session) and never stop it.

The session database is migrated by its owner (postgres) and the service connects as a
role of its own that may only read and write rows, as in production: `database_url` is
the owner's URL (for tests that set up or inspect), `service_database_url` the service's.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis.configuration import set_hypothesis_home_dir
from sqlalchemy import Engine

from tests.support.databases import as_role, login_role, temporary_database
from tests.support.server_process import TEST_JWT_SECRET, service_env
from user_service.storage.database import make_engine

# Hypothesis keeps its caches and examples in a directory of the run's own, not in
# .hypothesis/ in the working tree.
_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="user-service-hypothesis-")
set_hypothesis_home_dir(_HYPOTHESIS_HOME)
atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def service_role() -> Iterator[str]:
    with login_role() as role:
        yield role


@pytest.fixture(scope="session")
def database_url(service_role: str) -> Iterator[str]:
    """A database at the newest schema, for the whole session; tests use fresh random ids."""
    with temporary_database(migrated=True, service_role=service_role) as url:
        yield url


@pytest.fixture(scope="session")
def service_database_url(database_url: str, service_role: str) -> str:
    return as_role(database_url, service_role)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """Connected as the owner."""
    engine = make_engine(database_url, pool_size=4)
    yield engine
    engine.dispose()


@pytest.fixture
def env(service_database_url: str, tmp_path) -> dict[str, str]:
    """Settings for a service process against the session database, as the service's role."""
    return service_env(
        DATABASE_URL=service_database_url, JWT_SECRET=TEST_JWT_SECRET, DATA_DIR=str(tmp_path / ".data")
    )
