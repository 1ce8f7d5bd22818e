"""Proto fields to plain values and back, for every servicer: ids, timestamps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from google.protobuf import timestamp_pb2

from user_service.domain.errors import FieldViolation, InvalidArgument


def parse_id(value: str, field: str, reason: str) -> uuid.UUID:
    """A UUID string -> UUID; INVALID_ARGUMENT (`reason`) for anything else."""
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise InvalidArgument(FieldViolation(field, "must be a UUID", reason)) from None
    if str(parsed) != value.lower():  # uuid.UUID also takes braces, urns and missing dashes
        raise InvalidArgument(FieldViolation(field, "must be a UUID", reason))
    return parsed


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    """An aware datetime (what PostgreSQL's timestamptz gives) as a Timestamp; a third of the
    cost of Timestamp.FromDatetime, which answers the same."""
    if moment.tzinfo is None:
        stamp = timestamp_pb2.Timestamp()
        stamp.FromDatetime(moment)  # naive: taken as UTC
        return stamp
    return timestamp_pb2.Timestamp(seconds=(moment - _EPOCH) // _SECOND, nanos=moment.microsecond * 1000)
