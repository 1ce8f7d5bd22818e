"""Fault and bad-input tests: each starts what it breaks (a PostgreSQL cluster, a Redis, a
server process) and never touches the machine's PostgreSQL or Redis servers."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from tests.support.databases import as_role, login_role, temporary_database
from tests.support.server_process import TEST_JWT_SECRET, service_env
from user_service.storage.database import make_engine
from user_service.storage.session_limits import SessionLimits


@pytest.fixture
def fault_settings(service_database_url, tmp_path) -> dict[str, str]:
    """A server on the session database (as the service's role), checking its health
    often, believing x-forwarded-for from 127.0.0.1, and keeping nothing in Redis."""
    return service_env(
        DATABASE_URL=service_database_url,
        JWT_SECRET=TEST_JWT_SECRET,
        HEALTH_CHECK_INTERVAL_SECONDS="0.2",
        TRUSTED_PROXIES="127.0.0.1/32, ::1/128",
        DATA_DIR=str(tmp_path / ".data"),
    )


@dataclass(frozen=True)
class OwnDatabase:
    """A migrated database of the test's own: its name, the owner's engine, the service's URL."""

    name: str
    owner: Engine
    service_url: str


@pytest.fixture
def own_database() -> Iterator[OwnDatabase]:
    """For tests whose books must reconcile, or that watch pg_stat_activity: nothing else
    runs there."""
    with _own_database() as made:
        yield made


@pytest.fixture(scope="module")
def module_database() -> Iterator[OwnDatabase]:
    """As own_database, shared by a module's tests (each with users of its own)."""
    with _own_database() as made:
        yield made


@contextlib.contextmanager
def _own_database() -> Iterator[OwnDatabase]:
    with login_role() as role, temporary_database(migrated=True, service_role=role) as url:
        # No timeouts: the tests hold locks in open transactions for as long as they need.
        owner = make_engine(url, pool_size=4, limits=SessionLimits(0, 0, 0))
        yield OwnDatabase(url.rsplit("/", 1)[1], owner, as_role(url, role))
        owner.dispose()
