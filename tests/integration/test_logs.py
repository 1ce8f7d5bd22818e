"""Log lines: JSON with the request id, and no row values from database errors."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from user_service.logs import JsonFormatter, TextFormatter

HASH_MARKER = "$2b$12$thisIsNotARealHashButLooksLikeOne"


def record_of(error: BaseException, message: str = "unexpected error") -> logging.LogRecord:
    record = logging.LogRecord(
        "user_service", logging.ERROR, __file__, 1, message, None, (type(error), error, None)
    )
    record.request_id = "req-1"
    return record


@pytest.fixture
def constraint_violation(engine) -> IntegrityError:
    """A real error from PostgreSQL whose DETAIL holds the failing row, hash and all."""
    with pytest.raises(IntegrityError) as failed, engine.begin() as connection:
        connection.execute(
            text("INSERT INTO users (email, password_hash) VALUES (:email, :hash)"),
            {"email": f"UPPER-{uuid.uuid4().hex}@EXAMPLE.COM", "hash": HASH_MARKER},
        )
    assert HASH_MARKER in str(failed.value), "PostgreSQL no longer sends the failing row: find a new example"
    return failed.value


@pytest.mark.parametrize("formatter", [JsonFormatter(), TextFormatter()], ids=["json", "text"])
def test_database_errors_are_logged_without_row_values(constraint_violation, formatter):
    line = formatter.format(record_of(constraint_violation, f"failed: {constraint_violation}"))

    assert HASH_MARKER not in line
    assert "ck_users_email_normalized" in line
    assert "Failing row contains (redacted)" in line


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
