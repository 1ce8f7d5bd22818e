"""Run the Alembic migrations in storage/migrations from code, then grant the service's role."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from user_service.storage.grants import current_role, grant_service_role

MIGRATIONS = Path(__file__).parent / "migrations"

log = logging.getLogger(__name__)


def _config(connection: object) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head", *, service_role: str | None = None) -> None:
    """Upgrade as the tables' owner; then, when the service connects as another role, give
    that role row access and nothing more (storage/grants.py)."""
    with engine.begin() as connection:
        command.upgrade(_config(connection), revision)
        if service_role and service_role != current_role(connection):
            grant_service_role(connection, service_role)
            log.info("granted row access to the service's role %s", service_role)


def downgrade(engine: Engine, revision: str = "base") -> None:
    with engine.begin() as connection:
        command.downgrade(_config(connection), revision)


def head_revision() -> str:
    """The newest revision in storage/migrations."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None, "storage/migrations has no revisions"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
