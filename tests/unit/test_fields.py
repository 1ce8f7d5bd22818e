"""Ids in requests: a UUID in its canonical text form, or INVALID_ARGUMENT."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf import timestamp_pb2

from user_service.domain.errors import InvalidArgument
from user_service.server.servicers.fields import parse_id, timestamp


def test_a_uuid_is_read_in_either_case():
    value = uuid.uuid4()
    assert parse_id(str(value), "user_id", "INVALID_USER_ID") == value
    assert parse_id(str(value).upper(), "user_id", "INVALID_USER_ID") == value


@pytest.mark.parametrize(
    "raw",
    ["", "x", "{12345678-1234-5678-1234-567812345678}", "12345678123456781234567812345678", "urn:uuid:1"],
)
def test_anything_else_is_invalid(raw):
    with pytest.raises(InvalidArgument) as refused:
        parse_id(raw, "user_id", "INVALID_USER_ID")

    assert [(v.field, v.reason) for v in refused.value.violations] == [("user_id", "INVALID_USER_ID")]


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 22, 6, 40, 12, 45600, tzinfo=UTC),
        datetime(2026, 11, 22, 8, 40, 12, 999999, tzinfo=timezone(timedelta(hours=2))),
        datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
        datetime(2026, 11, 22, 6, 40, 12, 45600),  # naive: UTC, as protobuf takes it
    ],
)
def test_timestamps_say_what_protobuf_says(moment):
    expected = timestamp_pb2.Timestamp()
    expected.FromDatetime(moment)

    assert timestamp_pb2.Timestamp(**timestamp(moment)) == expected
