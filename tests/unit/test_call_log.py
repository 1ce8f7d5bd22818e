"""The request log's lines, written straight to the output once logging is configured:
the same fields and values as the formatters give the same line as a record, and nothing
when INFO is off."""

from __future__ import annotations

import json
import logging

import pytest

from user_service.call_log import LOGGER_NAME, CallLog
from user_service.logs import JsonFormatter, TextFormatter

METHOD = "/userservice.v1.UserAuth/GetMe"
REQUEST_ID = "0123456789abcdef0000000000000007"
USER_ID = "00000000-0000-4000-8000-000000000042"


def as_record(code: str, duration_ms: float, user_id: str | None) -> logging.LogRecord:
    """The record the logging module would have made of the same call."""
    record = logging.LogRecord(
        LOGGER_NAME, logging.INFO, "", 0, "%s %s %.1f ms", (METHOD, code, duration_ms), None
    )
    record.grpc_method, record.grpc_code, record.duration_ms = METHOD, code, round(duration_ms, 2)
    record.request_id, record.user_id = REQUEST_ID, user_id
    return record


@pytest.fixture
def written() -> list[bytes]:
    return []


@pytest.fixture(autouse=True)
def info_on():
    logger = logging.getLogger(LOGGER_NAME)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield logger
    logger.setLevel(level)


@pytest.mark.parametrize("user_id", [USER_ID, None])
def test_a_json_line_says_what_the_json_formatter_says(written, user_id):
    calls = CallLog()
    calls.write_to(written.append, json=True)

    calls.call(METHOD, "PERMISSION_DENIED", 12.3456, REQUEST_ID, user_id)

    [line] = written
    assert line.endswith(b"\n")
    direct = json.loads(line)
    expected = json.loads(JsonFormatter().format(as_record("PERMISSION_DENIED", 12.3456, user_id)))
    assert direct.pop("time")[:10] == expected.pop("time")[:10]
    assert direct == expected


def test_a_text_line_says_what_the_text_formatter_says(written):
    calls = CallLog()
    calls.write_to(written.append, json=False)

    calls.call(METHOD, "OK", 1.25, REQUEST_ID, USER_ID)

    [line] = written
    expected = TextFormatter().format(as_record("OK", 1.25, USER_ID))
    assert line.decode().split(" ", 2)[2] == expected.split(" ", 2)[2] + "\n"  # after the date and time


def test_nothing_is_written_when_info_is_off(written, info_on):
    info_on.setLevel(logging.WARNING)
    calls = CallLog()
    calls.write_to(written.append)

    calls.call(METHOD, "OK", 1.0, REQUEST_ID, None)

    assert written == []


def test_before_logging_is_configured_lines_are_records(caplog):
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        CallLog().call(METHOD, "OK", 2.5, REQUEST_ID, None)

    [record] = [r for r in caplog.records if r.name == LOGGER_NAME]
    assert (record.getMessage(), record.grpc_code, record.duration_ms) == (f"{METHOD} OK 2.5 ms", "OK", 2.5)
