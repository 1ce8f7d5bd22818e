"""What the schema itself refuses, whatever the code does: each statement here would leave
the data in a state the service must never be in."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import pytest
from google.protobuf.descriptor import EnumDescriptor
from sqlalchemy import Engine, inspect, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError, IntegrityError

from user_service.domain.model import Role
from user_service.storage.repositories.audit import erase_addresses_statement
from userservice.v1 import user_pb2


@dataclass
class Accounts:
    a: uuid.UUID
    b: uuid.UUID
    hold: uuid.UUID


def new_user(connection) -> uuid.UUID:
    return connection.execute(
        text("INSERT INTO users (email, password_hash) VALUES (:email, 'h') RETURNING id"),
        {"email": f"{uuid.uuid4().hex}@example.com"},
    ).scalar_one()


def new_account(connection) -> uuid.UUID:
    return connection.execute(
        text("INSERT INTO accounts (user_id) VALUES (:user_id) RETURNING id"),
        {"user_id": new_user(connection)},
    ).scalar_one()


@pytest.fixture
def accounts(engine: Engine) -> Accounts:
    with engine.begin() as connection:
        a, b = new_account(connection), new_account(connection)
        hold = connection.execute(
            text(
                "INSERT INTO holds (account_id, request_id, request_fingerprint, amount, expire_time)"
                " VALUES (:a, 'r-hold', 'f', 10, now() + interval '1 hour') RETURNING id"
            ),
            {"a": a},
        ).scalar_one()
    return Accounts(a, b, hold)


LEDGER_INSERT = (
    "INSERT INTO ledger_transactions (account_id, type, amount, balance_after, request_id,"
    " request_fingerprint, description, counterparty_account_id, hold_id, transfer_id)"
    " VALUES (:account, :type, :amount, 1000, :request_id, 'f', :description, :counterparty, :hold,"
    " :transfer)"
    " RETURNING id"
)


def ledger_row(connection, account, type_="deposit", amount=100, **columns):
    values = {
        "account": account,
        "type": type_,
        "amount": amount,
        "request_id": columns.pop("request_id", uuid.uuid4().hex),
        "description": "",
        "counterparty": None,
        "hold": None,
        "transfer": None,
        **columns,
    }
    return connection.execute(text(LEDGER_INSERT), values).scalar_one()


def refused(engine: Engine, constraint: str, statement, *args, **kwargs) -> None:
    with pytest.raises(IntegrityError, match=constraint), engine.begin() as connection:
        statement(connection, *args, **kwargs)


def execute(connection, sql: str, **params) -> None:
    connection.execute(text(sql), params)


@pytest.mark.parametrize(
    ("sql", "constraint"),
    [
        ("INSERT INTO users (email) VALUES (:email)", "ck_users_active_users_have_credentials"),
        ("INSERT INTO users (password_hash) VALUES ('h')", "ck_users_active_users_have_credentials"),
        ("INSERT INTO users (email, password_hash, roles) VALUES (:email, 'h', '{}')", "ck_users_has_a_role"),
        (
            "INSERT INTO users (email, password_hash, roles) VALUES (:email, 'h', '{emperor}')",
            "ck_users_known_roles",
        ),
        (
            "INSERT INTO users (email, password_hash, full_name) VALUES (:email, 'h', repeat('n', 201))",
            "ck_users_full_name_length",
        ),
        (
            "INSERT INTO users (email, delete_time, is_active) VALUES (:email, now(), false)",
            "ck_users_deleted_users_keep_no_personal_data",
        ),
    ],
    ids=["no-password-hash", "no-email", "no-role", "unknown-role", "long-name", "deleted-with-email"],
)
def test_users_that_must_not_exist(engine, sql, constraint):
    refused(engine, constraint, execute, sql, email=f"{uuid.uuid4().hex}@example.com")


def test_a_deleted_user_keeps_no_email_or_hash_and_needs_neither(engine):
    with engine.begin() as connection:
        execute(connection, "INSERT INTO users (delete_time, is_active) VALUES (now(), false)")


@pytest.mark.parametrize(
    ("row", "constraint"),
    [
        ({"type_": "deposit", "amount": -5}, "amount_signed_by_type"),
        ({"type_": "withdrawal", "amount": 5}, "amount_signed_by_type"),
        ({"type_": "hold_capture", "amount": 5, "hold": "HOLD"}, "amount_signed_by_type"),
        ({"type_": "deposit", "amount": 0}, "amount_signed_by_type"),
        ({"type_": "transfer_out", "amount": -5, "transfer": "TRANSFER"}, "transfers_name_both_sides"),
        ({"type_": "transfer_in", "amount": 5, "counterparty": "B"}, "transfers_name_both_sides"),
        ({"type_": "deposit", "amount": 5, "counterparty": "B"}, "transfers_name_both_sides"),
        ({"type_": "deposit", "amount": 5, "transfer": "TRANSFER"}, "transfers_name_both_sides"),
        ({"type_": "hold_capture", "amount": -5}, "captures_name_their_hold"),
        ({"type_": "withdrawal", "amount": -5, "hold": "HOLD"}, "captures_name_their_hold"),
        ({"type_": "deposit", "amount": 5, "description": "d" * 201}, "description_length"),
        ({"type_": "deposit", "amount": 5, "request_id": ""}, "request_id_length"),
    ],
    ids=[
        "negative-deposit",
        "positive-withdrawal",
        "positive-capture",
        "zero",
        "transfer-without-counterparty",
        "transfer-without-transfer-id",
        "deposit-with-counterparty",
        "deposit-with-transfer-id",
        "capture-without-hold",
        "withdrawal-with-hold",
        "long-description",
        "empty-request-id",
    ],
)
def test_ledger_rows_that_must_not_exist(engine, accounts, row, constraint):
    placeholders = {"B": accounts.b, "HOLD": accounts.hold, "TRANSFER": uuid.uuid4()}
    values = {
        key: placeholders.get(value, value) if isinstance(value, str) else value for key, value in row.items()
    }

    refused(engine, f"ck_ledger_transactions_{constraint}", ledger_row, accounts.a, **values)


def test_a_transfer_is_two_legs_that_share_a_transfer_id(engine, accounts):
    transfer = uuid.uuid4()
    with engine.begin() as connection:
        ledger_row(connection, accounts.a, "transfer_out", -5, counterparty=accounts.b, transfer=transfer)
        ledger_row(connection, accounts.b, "transfer_in", 5, counterparty=accounts.a, transfer=transfer)

    refused(
        engine,
        "uq_ledger_transactions_transfer_id_type",
        ledger_row,
        accounts.b,
        "transfer_in",
        5,
        counterparty=accounts.a,
        transfer=transfer,
    )
    with engine.connect() as connection:
        legs = connection.execute(
            text("SELECT type, amount FROM ledger_transactions WHERE transfer_id = :t ORDER BY amount"),
            {"t": transfer},
        ).all()
    assert [tuple(leg) for leg in legs] == [("transfer_out", -5), ("transfer_in", 5)]


def test_a_hold_is_captured_once(engine, accounts):
    with engine.begin() as connection:
        ledger_row(connection, accounts.a, "hold_capture", -5, hold=accounts.hold)

    refused(
        engine,
        "uq_ledger_transactions_hold_id",
        ledger_row,
        accounts.a,
        "hold_capture",
        -3,
        hold=accounts.hold,
    )


def test_a_request_id_is_used_once_per_account_but_a_transfer_credit_may_share_it(engine, accounts):
    transfer = uuid.uuid4()
    with engine.begin() as connection:
        ledger_row(connection, accounts.b, request_id="same")
        ledger_row(
            connection,
            accounts.b,
            "transfer_in",
            5,
            request_id="same",
            counterparty=accounts.a,
            transfer=transfer,
        )

    refused(
        engine,
        "uq_ledger_transactions_account_id_request_id",
        ledger_row,
        accounts.b,
        "withdrawal",
        -1,
        request_id="same",
    )


HOLD_INSERT = (
    "INSERT INTO holds (account_id, request_id, request_fingerprint, amount, expire_time, reference)"
    " VALUES (:account, :request_id, 'f', 10, {expire}, {reference})"
)


@pytest.mark.parametrize(
    ("expire", "reference", "constraint"),
    [
        ("now() - interval '1 second'", "''", "ck_holds_expire_after_create"),
        ("now()", "''", "ck_holds_expire_after_create"),
        ("now() + interval '1 hour'", "repeat('r', 201)", "ck_holds_reference_length"),
    ],
    ids=["expired-before-created", "expires-as-created", "long-reference"],
)
def test_holds_that_must_not_exist(engine, accounts, expire, reference, constraint):
    sql = HOLD_INSERT.format(expire=expire, reference=reference)
    refused(engine, constraint, execute, sql, account=accounts.a, request_id=uuid.uuid4().hex)


@pytest.mark.parametrize("column", ["available", "held"])
def test_balances_cannot_go_negative(engine, accounts, column):
    sql = f"UPDATE accounts SET {column} = -1 WHERE id = :id"  # noqa: S608  (a column from the parameters)
    refused(engine, f"ck_accounts_{column}_not_negative", execute, sql, id=accounts.a)


@pytest.mark.parametrize("table", ["ledger_transactions", "audit_events"])
@pytest.mark.parametrize(
    "change", ["UPDATE {table} SET create_time = now() WHERE id = :id", "DELETE FROM {table} WHERE id = :id"]
)
def test_the_ledger_and_the_audit_trail_are_append_only(engine, accounts, table, change):
    with engine.begin() as connection:
        if table == "ledger_transactions":
            row = ledger_row(connection, accounts.a)
        else:
            row = connection.execute(
                text("INSERT INTO audit_events (action, outcome) VALUES ('test', 'success') RETURNING id")
            ).scalar_one()

    with pytest.raises(DBAPIError, match=f"{table} is append-only"), engine.begin() as connection:
        execute(connection, change.format(table=table), id=row)


def test_ledger_ids_follow_commit_order_where_create_times_do_not(engine, accounts):
    """Rows are written under the account's row lock, so ids rise in commit order; a page
    token that says "older than id N" never skips a row committed after it was handed out.
    create_time (the transaction's start) would: the later commit here started first."""
    lock = "SELECT id FROM accounts WHERE id = :a FOR UPDATE"
    with engine.connect() as late:
        late.execute(text("SELECT now()"))  # the late transaction starts first
        time.sleep(0.01)
        with engine.begin() as early:
            execute(early, lock, a=accounts.a)
            first = ledger_row(early, accounts.a)
        execute(late, lock, a=accounts.a)
        second = ledger_row(late, accounts.a)
        late.commit()

    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, create_time FROM ledger_transactions WHERE account_id = :a ORDER BY id"),
            {"a": accounts.a},
        ).all()
    assert isinstance(first, int)
    assert [row.id for row in rows] == [first, second]
    assert rows[1].create_time < rows[0].create_time


def test_the_outbox_keeps_no_address_text_or_token(engine):
    columns = {column["name"] for column in inspect(engine).get_columns("email_outbox")}

    assert columns == {
        "id",
        "user_id",
        "kind",
        "create_time",
        "next_attempt_time",
        "attempts",
        "sent_time",
        "last_error",
    }


def proto_roles(enum: EnumDescriptor) -> set[str]:
    return {value.name.removeprefix("ROLE_").lower() for value in enum.values if value.number != 0}


def test_roles_are_one_list_the_domain_the_schema_and_the_contract_agree_on(engine):
    with engine.connect() as connection:
        check = connection.execute(
            text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'ck_users_known_roles'")
        ).scalar_one()
    in_schema = set(
        check.partition("ARRAY[")[2].partition("]")[0].replace("::text", "").replace("'", "").split(", ")
    )

    assert in_schema == {role.value for role in Role}
    assert proto_roles(user_pb2.Role.DESCRIPTOR) == {role.value for role in Role}


def test_the_outbox_knows_its_kinds(engine):
    refused(engine, "ck_email_outbox_known_kind", execute, "INSERT INTO email_outbox (kind) VALUES ('spam')")


def test_erasing_a_deleted_users_addresses_reads_the_trail_by_index(engine):
    """DeleteUser erases addresses while it holds the user's account row: a scan of the
    whole audit trail there would keep the user's money calls waiting on that lock."""
    statement = erase_addresses_statement(uuid.uuid4()).compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    with engine.connect() as connection:
        connection.execute(text("SET LOCAL enable_seqscan = off"))  # a small table: ask for the best
        plan = "\n".join(connection.execute(text(f"EXPLAIN {statement}")).scalars())

    assert "Seq Scan" not in plan, plan
    assert "ix_audit_events_actor_user_id" in plan, plan
