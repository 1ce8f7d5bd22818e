"""Fixtures of the integration tests that need a database to themselves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.support.databases import temporary_database
from user_service.storage.database import make_engine


@pytest.fixture(scope="module")
def scratch_url() -> Iterator[str]:
    """A blank database of the test module's own, for tests that create tables (to lock,
    to break, to probe)."""
    with temporary_database(migrated=False) as url:
        yield url


@pytest.fixture(scope="module")
def scratch(scratch_url: str) -> Iterator[Engine]:
    """The owner's engine on scratch_url."""
    engine = make_engine(scratch_url, pool_size=2)
    yield engine
    engine.dispose()
