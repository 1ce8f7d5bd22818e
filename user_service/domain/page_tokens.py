"""Opaque page tokens for keyset pagination (AIP-158).

A token carries where the last page ended and a digest of the query it belongs to, so that
a token shown with another query (another filter, another user) is refused rather than
misread. Tokens are urlsafe base64 of a small JSON document; they are opaque to callers,
not secret: they hold no more than the caller could read from the page itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence

from user_service.domain.errors import FieldViolation, InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_TOKEN_LENGTH = 1024

Position = list[str | int]


def _query_digest(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()[:16]


def encode(query: str, position: Sequence[str | int]) -> str:
    document = {"q": _query_digest(query), "p": list(position)}
    return base64.urlsafe_b64encode(json.dumps(document, separators=(",", ":")).encode()).decode().rstrip("=")


def decode(token: str, query: str, shape: Sequence[type]) -> Position | None:
    """The position in a token made by `encode` for the same `query`; None for an empty
    token; INVALID_ARGUMENT (INVALID_PAGE_TOKEN) for anything else. `shape`: the types of
    the position's items."""
    if not token:
        return None
    try:
        if len(token) > MAX_TOKEN_LENGTH:
            raise ValueError("too long")
        document = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        position = document["p"]
        if document["q"] != _query_digest(query):
            raise ValueError("another query")
        if not isinstance(position, list) or len(position) != len(shape):
            raise ValueError("malformed")
        if not all(type(item) is kind for item, kind in zip(position, shape, strict=True)):
            raise ValueError("malformed")
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise invalid() from None
    return position


def invalid() -> InvalidArgument:
    return InvalidArgument(
        FieldViolation("page_token", "is not a page token of this query", "INVALID_PAGE_TOKEN")
    )


def page_size(requested: int) -> int:
    """The default for 0, at most MAX_PAGE_SIZE; INVALID_ARGUMENT (INVALID_PAGE_SIZE) below 0."""
    if requested < 0:
        raise InvalidArgument(FieldViolation("page_size", "must not be negative", "INVALID_PAGE_SIZE"))
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
