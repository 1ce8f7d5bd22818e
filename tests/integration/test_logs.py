"""Log lines: JSON with the request id, and no row values from database errors, even when a
value spans lines or looks like the end of the error."""

from __future__ import annotations

import json
import logging
import uuid

import psycopg2
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tests.support.databases import ADMIN_URL
from user_service.logs import JsonFormatter, TextFormatter

HASH_MARKER = "$2b$12$thisIsNotARealHashButLooksLikeOne"
FORMATTERS = [JsonFormatter(), TextFormatter()]


def record_of(error: BaseException | None, message: str = "unexpected error", args=None) -> logging.LogRecord:
    exc_info = (type(error), error, None) if error is not None else None
    record = logging.LogRecord("user_service", logging.ERROR, __file__, 1, message, args, exc_info)
    record.request_id = "req-1"
    return record


def violation(engine, full_name: str) -> IntegrityError:
    """A real error from PostgreSQL whose DETAIL holds the failing row, hash and all."""
    with pytest.raises(IntegrityError) as failed, engine.begin() as connection:
        connection.execute(
            text("INSERT INTO users (email, password_hash, full_name) VALUES (:email, :hash, :name)"),
            {"email": f"UPPER-{uuid.uuid4().hex}@EXAMPLE.COM", "hash": HASH_MARKER, "name": full_name},
        )
    assert HASH_MARKER in str(failed.value), "PostgreSQL no longer sends the failing row: find a new example"
    return failed.value


def duplicate_email(engine, email: str) -> IntegrityError:
    """A unique violation: its DETAIL is `Key (email)=(<the address>) already exists.`"""
    insert = text("INSERT INTO users (email, password_hash) VALUES (:email, 'h')")
    with engine.begin() as connection:
        connection.execute(insert, {"email": email})
    with pytest.raises(IntegrityError) as failed, engine.begin() as connection:
        connection.execute(insert, {"email": email})
    assert "Key (email)=(" in str(failed.value)
    return failed.value


def formatted(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    return formatter.format(record)


@pytest.mark.parametrize("formatter", FORMATTERS, ids=["json", "text"])
@pytest.mark.parametrize("full_name", ["Ada Lovelace", "Ada\nLovelace", "Ada\r\n(Countess)\n\nof Lovelace"])
def test_database_errors_are_logged_without_row_values(engine, formatter, full_name):
    error = violation(engine, full_name)

    as_exception = formatted(formatter, record_of(error))
    as_text_only = formatted(formatter, record_of(None, f"failed: {error}"))

    for line in (as_exception, as_text_only):
        assert HASH_MARKER not in line
        assert "Lovelace" not in line
        assert "ck_users_email_normalized" in line
        assert "Failing row contains (redacted)" in line


@pytest.mark.parametrize("formatter", FORMATTERS, ids=["json", "text"])
def test_the_key_of_a_unique_violation_is_redacted(engine, formatter):
    email = f"secret-{uuid.uuid4().hex}@example.com"
    error = duplicate_email(engine, email)

    for record in (
        record_of(error),
        record_of(None, f"failed: {error}"),
        record_of(None, "failed: %s", (error,)),
    ):
        line = formatted(formatter, record)
        assert email not in line
        assert "Key (email)=(redacted)" in line or "(redacted)" in line


@pytest.mark.parametrize("formatter", FORMATTERS, ids=["json", "text"])
def test_a_value_that_imitates_the_end_of_the_error_hides_nothing(formatter):
    """Without SQLAlchemy's wrapper, text alone cannot tell where a row ends; the error's own
    DETAIL can."""
    name = "Mallory\n[SQL: fake trailer]\n" + HASH_MARKER
    connection = psycopg2.connect(ADMIN_URL.replace("+psycopg2", ""))
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE people (name text CHECK (length(name) < 5), secret text)")
            with pytest.raises(psycopg2.Error) as failed:
                cursor.execute("INSERT INTO people VALUES (%s, %s)", (name, HASH_MARKER))
    finally:
        connection.close()
    assert HASH_MARKER in str(failed.value)

    line = formatted(formatter, record_of(failed.value))

    assert HASH_MARKER not in line
    assert "Mallory" not in line


def test_json_lines_carry_request_id_and_extra_fields():
    record = logging.LogRecord(
        "user_service.requests", logging.INFO, __file__, 1, "%s %s", ("/a/B", "OK"), None
    )
    record.request_id = "abc"
    record.grpc_code = "OK"

    entry = json.loads(JsonFormatter().format(record))

    assert entry["message"] == "/a/B OK"
    assert entry["request_id"] == "abc"
    assert entry["grpc_code"] == "OK"
    assert entry["level"] == "INFO"
