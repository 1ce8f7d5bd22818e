"""Migrations: they upgrade and downgrade cleanly, queue instead of racing, and build
exactly the schema the models describe (constraints, indexes and triggers included)."""

from __future__ import annotations

import re
import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from tests.support.databases import temporary_database
from tests.support.server_process import TEST_JWT_SECRET, service_env
from user_service.storage import migrate
from user_service.storage.database import make_engine
from user_service.storage.models import Base

TABLES = {
    "users",
    "sessions",
    "refresh_tokens",
    "single_use_tokens",
    "accounts",
    "ledger_transactions",
    "holds",
    "email_outbox",
    "audit_events",
}


def test_migrations_upgrade_a_blank_database_and_downgrade_it_cleanly():
    with temporary_database(migrated=False) as url:
        engine = make_engine(url, pool_size=1)
        try:
            migrate.upgrade(engine)
            assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
            assert migrate.current_revision(engine) == migrate.head_revision()

            migrate.downgrade(engine)
            assert inspect(engine).get_table_names() == ["alembic_version"]
            assert migrate.current_revision(engine) is None
            with engine.connect() as connection:
                functions = connection.execute(
                    text(
                        "SELECT proname FROM pg_proc JOIN pg_namespace n ON n.oid = pronamespace"
                        " WHERE nspname = 'public'"
                    )
                ).all()
            assert functions == []

            migrate.upgrade(engine)  # and up again from there
            assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
        finally:
            engine.dispose()


def test_concurrent_migrations_wait_for_each_other(tmp_path):
    """Two migration Jobs at once (a retry while the first still runs) must not collide."""
    with temporary_database(migrated=False) as url:
        env = service_env(DATABASE_URL=url, JWT_SECRET=TEST_JWT_SECRET, DATA_DIR=str(tmp_path))
        jobs = [
            subprocess.Popen(
                [sys.executable, "-m", "user_service", "migrate"], env=env, stderr=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        outcomes = [(job.wait(timeout=120), job.stderr.read() if job.stderr else "") for job in jobs]
        for job in jobs:
            if job.stderr:
                job.stderr.close()

        assert [code for code, _ in outcomes] == [0, 0], outcomes
        engine = make_engine(url, pool_size=1)
        assert migrate.current_revision(engine) == migrate.head_revision()
        engine.dispose()


def test_the_models_match_the_migrations(engine: Engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_server_default": True})
        assert compare_metadata(context, Base.metadata) == []


# What compare_metadata cannot see (CHECK constraints, triggers, functions), read from the
# catalog of a migrated database and of one made by Base.metadata.create_all.
CATALOG = {
    "columns": """
        SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity,
               identity_generation
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> 'alembic_version'""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        FROM pg_constraint
        WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> 'alembic_version'""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename <> 'alembic_version'""",
    "triggers": """
        SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger
        WHERE NOT tgisinternal""",
    "functions": """
        SELECT proname, pg_get_functiondef(oid) FROM pg_proc
        WHERE pronamespace = 'public'::regnamespace""",
}


def catalog(engine: Engine) -> dict[str, set[tuple[str, ...]]]:
    with engine.connect() as connection:
        return {
            kind: {
                tuple(re.sub(r"\s+", " ", str(value)).strip() for value in row)
                for row in connection.execute(text(query))
            }
            for kind, query in CATALOG.items()
        }


def test_the_models_and_the_migrations_build_the_same_catalog(engine: Engine):
    with temporary_database(migrated=False) as url:
        from_models = make_engine(url, pool_size=1)
        Base.metadata.create_all(from_models)
        built = catalog(from_models)
        from_models.dispose()

    migrated = catalog(engine)
    for kind in CATALOG:
        assert migrated[kind] - built[kind] == set(), f"{kind} only the migrations make"
        assert built[kind] - migrated[kind] == set(), f"{kind} only the models make"
    assert any("append_only" in trigger[1] for trigger in migrated["triggers"])
