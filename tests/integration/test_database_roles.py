"""The service's database role may read and write rows and nothing more: the ledger and
the audit trail stay append-only even against the service itself, because it can neither
change their rows, nor empty them, nor switch off their triggers. Migrations run as the
owner (MIGRATION_DATABASE_URL) and grant that role what it needs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from psycopg2 import errorcodes
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.support.databases import as_role, login_role, temporary_database
from tests.support.server_process import TEST_JWT_SECRET, run_cli, service_env
from user_service.storage.database import make_engine
from user_service.storage.models import Base
from user_service.storage.models.append_only import APPEND_ONLY_TABLES


@pytest.fixture(scope="module")
def as_service(service_database_url) -> Iterator[Engine]:
    engine = make_engine(service_database_url, pool_size=1)
    yield engine
    engine.dispose()


def refused_for_lack_of_privilege(engine: Engine, statement: str, **params) -> None:
    with pytest.raises(DBAPIError) as failed, engine.begin() as connection:
        connection.execute(text(statement), params)
    assert getattr(failed.value.orig, "pgcode", None) == errorcodes.INSUFFICIENT_PRIVILEGE, failed.value


@pytest.fixture(scope="module")
def audit_row(engine) -> int:
    with engine.begin() as connection:
        return connection.execute(
            text("INSERT INTO audit_events (action, outcome) VALUES ('test', 'success') RETURNING id")
        ).scalar_one()


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE {table}",
        "ALTER TABLE {table} DISABLE TRIGGER {table}_append_only",
        "DROP TRIGGER {table}_append_only ON {table}",
        "UPDATE {table} SET create_time = now()",
        "DELETE FROM {table}",
    ],
    ids=["truncate", "disable-trigger", "drop-trigger", "update", "delete"],
)
def test_the_service_cannot_rewrite_history(as_service, audit_row, table, statement):
    refused_for_lack_of_privilege(as_service, statement.format(table=table))


def test_the_service_can_append_to_history_and_read_it(as_service):
    with as_service.begin() as connection:
        row = connection.execute(
            text("INSERT INTO audit_events (action, outcome) VALUES ('test', 'success') RETURNING id")
        ).scalar_one()
        assert (
            connection.execute(text("SELECT count(*) FROM audit_events WHERE id = :id"), {"id": row}).scalar()
            == 1
        )


def test_the_service_can_change_its_other_tables(as_service):
    with as_service.begin() as connection:
        user = connection.execute(
            text("INSERT INTO users (email, password_hash) VALUES (:email, 'h') RETURNING id"),
            {"email": f"{uuid.uuid4().hex}@example.com"},
        ).scalar_one()
        connection.execute(text("UPDATE users SET full_name = 'x' WHERE id = :id"), {"id": user})
        connection.execute(
            text("INSERT INTO email_outbox (user_id, kind) VALUES (:id, 'email_verification')"), {"id": user}
        )
        connection.execute(text("DELETE FROM email_outbox WHERE user_id = :id"), {"id": user})


def test_the_service_cannot_change_the_schema(as_service):
    refused_for_lack_of_privilege(as_service, "ALTER TABLE users ADD COLUMN nickname text")
    refused_for_lack_of_privilege(as_service, "CREATE TABLE mine (id int)")
    refused_for_lack_of_privilege(as_service, "DELETE FROM alembic_version")


def privileges(engine: Engine, role: str) -> dict[str, set[str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT table_name, privilege_type FROM information_schema.role_table_grants"
                " WHERE grantee = :role AND table_schema = 'public'"
            ),
            {"role": role},
        ).all()
    found: dict[str, set[str]] = {}
    for table, privilege in rows:
        found.setdefault(table, set()).add(privilege)
    return found


def test_migrate_as_the_owner_grants_the_service_role_exactly_row_access(tmp_path):
    with login_role() as role, temporary_database(migrated=False) as owner_url:
        env = service_env(
            DATABASE_URL=as_role(owner_url, role),
            MIGRATION_DATABASE_URL=owner_url,
            JWT_SECRET=TEST_JWT_SECRET,
            DATA_DIR=str(tmp_path),
        )

        migrated = run_cli(["migrate"], env)

        assert migrated.returncode == 0, migrated.stderr
        assert f"granted row access to the service's role {role}" in migrated.stderr
        owner = make_engine(owner_url, pool_size=1)
        try:
            with owner.connect() as connection:
                owners = set(
                    connection.execute(
                        text("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
                    ).scalars()
                )
            granted = privileges(owner, role)
        finally:
            owner.dispose()
        assert owners == {"postgres"}
        expected = {
            table.name: {"SELECT", "INSERT"}
            if table.name in APPEND_ONLY_TABLES
            else {"SELECT", "INSERT", "UPDATE", "DELETE"}
            for table in Base.metadata.sorted_tables
        }
        assert granted == {**expected, "alembic_version": {"SELECT"}}

        again = run_cli(["migrate"], env)  # idempotent
        assert again.returncode == 0, again.stderr

        served = run_cli(
            ["create-user", "--email", f"{uuid.uuid4().hex}@example.com", "--password", "long enough pw"], env
        )
        assert served.returncode == 0, served.stderr
