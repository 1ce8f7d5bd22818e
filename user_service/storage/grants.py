"""What the service's own database role may do, granted by `migrate` after each upgrade.

Migrations run as the owner of the tables (MIGRATION_DATABASE_URL); the service connects
as another role (DATABASE_URL) that may read and write rows and nothing more: on the
append-only tables it may only INSERT and SELECT, and since it owns nothing it can
neither TRUNCATE a table nor disable a trigger. The grants are rebuilt from the models on
every `migrate`, so that a new table gets its grant with the revision that adds it.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from user_service.storage.models import Base
from user_service.storage.models.append_only import APPEND_ONLY_TABLES

READ_WRITE = "SELECT, INSERT, UPDATE, DELETE"
APPEND_ONLY = "SELECT, INSERT"


def current_role(connection: Connection) -> str:
    return str(connection.execute(text("SELECT current_user")).scalar_one())


def grant_service_role(connection: Connection, role: str) -> None:
    """Give `role` row access to every table (append-only ones: INSERT and SELECT only)."""
    quoted = connection.dialect.identifier_preparer.quote(role)
    connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {quoted}"))
    for table in Base.metadata.sorted_tables:
        privileges = APPEND_ONLY if table.name in APPEND_ONLY_TABLES else READ_WRITE
        connection.execute(text(f"REVOKE ALL ON TABLE {table.name} FROM {quoted}"))
        connection.execute(text(f"GRANT {privileges} ON TABLE {table.name} TO {quoted}"))
    # Erasing a deleted user's client addresses is the one change allowed on the audit trail.
    connection.execute(text(f"GRANT UPDATE (client_address) ON TABLE audit_events TO {quoted}"))
    connection.execute(text(f"REVOKE ALL ON TABLE alembic_version FROM {quoted}"))
    connection.execute(text(f"GRANT SELECT ON TABLE alembic_version TO {quoted}"))
