"""Proto fields to plain values and back, for every servicer: ids, timestamps."""

from __future__ import annotations

import uuid
from datetime import datetime

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


def timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp
