"""Retries of money calls: what a request_id recorded, given back to a retry of the same
call, refused to a different call that reuses the key.

Only successes are recorded (a refused call writes nothing), so a retry of a refused call
is evaluated again.
"""

from __future__ import annotations

from typing import TypeVar

from user_service.domain.money_errors import IdempotencyKeyReused
from user_service.storage.errors import TransactionConflict
from user_service.storage.repositories.money_rows import Recorded, Request

T = TypeVar("T")


def replayed(recorded: Recorded[T] | None, request: Request) -> T:
    """What the first call with this request_id wrote; ABORTED (IDEMPOTENCY_KEY_REUSED)
    when that call had other arguments."""
    if recorded is None:  # refused by the unique index, yet not there: a conflict to retry
        raise TransactionConflict("request_id recorded but not found")
    if recorded.fingerprint != request.fingerprint:
        raise IdempotencyKeyReused()
    return recorded.value
