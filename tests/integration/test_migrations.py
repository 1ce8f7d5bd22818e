"""Migrations and the invariants the schema itself enforces."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError

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
            assert migrate.current_revision(engine) == "0001"

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
        assert migrate.current_revision(engine) == "0001"
        engine.dispose()


def test_the_models_match_the_migrations(engine: Engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_server_default": True})
        assert compare_metadata(context, Base.metadata) == []


@pytest.fixture
def account(engine: Engine) -> uuid.UUID:
    with engine.begin() as connection:
        user_id = connection.execute(
            text("INSERT INTO users (email) VALUES (:email) RETURNING id"),
            {"email": f"{uuid.uuid4().hex}@example.com"},
        ).scalar_one()
        return connection.execute(
            text("INSERT INTO accounts (user_id) VALUES (:user_id) RETURNING id"), {"user_id": user_id}
        ).scalar_one()


def ledger_row(connection, account_id, request_id="r1", type_="deposit", amount=100):
    return connection.execute(
        text(
            "INSERT INTO ledger_transactions"
            " (account_id, type, amount, balance_after, request_id, request_fingerprint)"
            " VALUES (:account_id, :type, :amount, 1000, :request_id, 'f') RETURNING id"
        ),
        {"account_id": account_id, "type": type_, "amount": amount, "request_id": request_id},
    ).scalar_one()


@pytest.mark.parametrize("column", ["available", "held"])
def test_balances_cannot_go_negative(engine, account, column):
    statement = f"UPDATE accounts SET {column} = -1 WHERE id = :id"  # noqa: S608  (a column from the parameters)
    with (
        pytest.raises(IntegrityError, match=f"ck_accounts_{column}_not_negative"),
        engine.begin() as connection,
    ):
        connection.execute(text(statement), {"id": account})


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_transactions SET amount = 1 WHERE id = :id",
        "DELETE FROM ledger_transactions WHERE id = :id",
    ],
)
def test_the_ledger_is_append_only(engine, account, statement):
    with engine.begin() as connection:
        row = ledger_row(connection, account)

    with pytest.raises(DBAPIError, match="ledger_transactions is append-only"), engine.begin() as connection:
        connection.execute(text(statement), {"id": row})


def test_a_request_id_is_used_once_per_account_but_a_transfer_credit_may_share_it(engine, account):
    with engine.begin() as connection:
        ledger_row(connection, account, request_id="same")
        ledger_row(connection, account, request_id="same", type_="transfer_in")

    with (
        pytest.raises(IntegrityError, match="uq_ledger_transactions_account_id_request_id"),
        engine.begin() as connection,
    ):
        ledger_row(connection, account, request_id="same", type_="withdrawal", amount=-1)


def test_deleted_users_keep_no_personal_data(engine):
    with (
        pytest.raises(IntegrityError, match="deleted_users_keep_no_personal_data"),
        engine.begin() as connection,
    ):
        connection.execute(
            text("INSERT INTO users (email, delete_time, is_active) VALUES (:email, now(), false)"),
            {"email": f"{uuid.uuid4().hex}@example.com"},
        )
