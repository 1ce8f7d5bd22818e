"""The current call's deadline, so that work done for a call never outlives it.

The server sets it from the gRPC deadline for the duration of each call; storage turns
what is left into the transaction's statement and lock timeouts, and waits (for bcrypt,
for a pooled connection) give up when it has passed. None: the caller set no deadline.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar, Token

# A deadline further away than this is no deadline (gRPC reports "none" as a huge number).
_NO_DEADLINE_BEYOND_SECONDS = 365 * 24 * 3600

_deadline: ContextVar[float | None] = ContextVar("deadline", default=None)


def begin(seconds_remaining: float | None) -> Token[float | None]:
    """From now until `end`, `remaining()` counts down from `seconds_remaining`."""
    if seconds_remaining is not None and seconds_remaining > _NO_DEADLINE_BEYOND_SECONDS:
        seconds_remaining = None
    return _deadline.set(None if seconds_remaining is None else time.monotonic() + seconds_remaining)


def end(token: Token[float | None]) -> None:
    _deadline.reset(token)


@contextlib.contextmanager
def call_deadline(seconds_remaining: float | None) -> Iterator[None]:
    """Within the block, `remaining()` counts down from `seconds_remaining`."""
    token = begin(seconds_remaining)
    try:
        yield
    finally:
        end(token)


def remaining() -> float | None:
    """Seconds left before the current call's deadline (0 once passed), or None."""
    deadline = _deadline.get()
    if deadline is None:
        return None
    return max(deadline - time.monotonic(), 0.0)
