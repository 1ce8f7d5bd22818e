"""What makes a Balance call's arguments acceptable, and the fingerprint of a money call.

`Arguments` checks every field of a call and reports every bad one at once (one
INVALID_ARGUMENT with a field violation each). Text that reaches the database must hold
no control character: NUL is refused by the driver, and the others have no business in a
ledger.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import timedelta

from user_service.domain.errors import FieldViolation, InvalidArgument
from user_service.domain.page_tokens import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

MAX_REQUEST_ID_LENGTH = 64
MAX_TEXT_LENGTH = 200  # a description or a reference
DEFAULT_HOLD_TTL = timedelta(minutes=15)
MAX_HOLD_TTL = timedelta(days=7)
_NIL = uuid.UUID(int=0)  # stands in for a bad id until `check()` raises


# Unicode's control characters (category Cc): C0, DEL and C1, searched in C, not per character.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def has_control_characters(text: str) -> bool:
    return _CONTROL.search(text) is not None


class Arguments:
    """`checks = Arguments(); x = checks.amount(...); ...; checks.check()`."""

    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []

    def refuse(self, field: str, description: str, reason: str) -> None:
        self.violations.append(FieldViolation(field, description, reason))

    def check(self) -> None:
        """INVALID_ARGUMENT naming every bad field, if any."""
        if self.violations:
            raise InvalidArgument(*self.violations)

    def id(self, value: str, field: str, reason: str) -> uuid.UUID:
        """A UUID in its canonical text form (either case), as servicers/fields.parse_id reads ids."""
        try:
            parsed = uuid.UUID(value)
        except ValueError:
            parsed = None
        if parsed is None or str(parsed) != value.lower():
            self.refuse(field, "must be a UUID", reason)
            return _NIL
        return parsed

    def user_id(self, value: str, field: str = "user_id") -> uuid.UUID:
        return self.id(value, field, "INVALID_USER_ID")

    def hold_id(self, value: str) -> uuid.UUID:
        return self.id(value, "hold_id", "INVALID_HOLD_ID")

    def amount(self, value: int, max_amount: int, *, zero_means_all: bool = False) -> int:
        low = 0 if zero_means_all else 1
        if not low <= value <= max_amount:
            self.refuse("amount", f"must be between {low} and {max_amount} minor units", "INVALID_AMOUNT")
        return value

    def request_id(self, value: str) -> str:
        if not value:
            self.refuse("request_id", "is required for a call that moves money", "MISSING_REQUEST_ID")
        elif len(value) > MAX_REQUEST_ID_LENGTH or has_control_characters(value):
            self.refuse(
                "request_id",
                f"must be at most {MAX_REQUEST_ID_LENGTH} characters, none of them control characters",
                "INVALID_REQUEST_ID",
            )
        return value

    def text(self, value: str, field: str, reason: str) -> str:
        if len(value) > MAX_TEXT_LENGTH or has_control_characters(value):
            self.refuse(
                field,
                f"must be at most {MAX_TEXT_LENGTH} characters, none of them control characters",
                reason,
            )
        return value

    def ttl(self, value: timedelta | None) -> timedelta:
        if value is None:
            return DEFAULT_HOLD_TTL
        if not timedelta(0) < value <= MAX_HOLD_TTL:
            self.refuse("ttl", "must be more than zero and at most 7 days", "INVALID_TTL")
        return value

    def page_size(self, value: int) -> int:
        """0: the default; above the maximum: the maximum; negative: refused."""
        if value < 0:
            self.refuse("page_size", "must not be negative", "INVALID_PAGE_SIZE")
        return min(value or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def fingerprint(rpc: str, *arguments: str | int | None) -> str:
    """SHA-256 of the RPC's name and its canonical arguments: a retry with the same
    request_id must carry the same fingerprint, or it is another call reusing the key."""
    return hashlib.sha256(_CANONICAL([rpc, *arguments]).encode()).hexdigest()


# One encoder for every fingerprint (json.dumps with arguments makes a new one each time).
_CANONICAL = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode
