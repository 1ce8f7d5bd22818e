"""Alembic environment. `python -m user_service migrate` hands over its connection; the
`alembic` command (alembic.ini, for writing revisions) connects from the settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from user_service.storage.models import Base

# Two migrations at once (a Job retried while the first still runs) queue instead of racing.
MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(hashtext('user-service migrations'))"


def run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, compare_server_default=True)
    with context.begin_transaction():
        connection.execute(text(MIGRATION_LOCK))
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    from user_service.config import load_settings
    from user_service.storage.database import open_database

    with open_database(load_settings()) as database, database.engine.connect() as connection:
        run(connection)
        connection.commit()
