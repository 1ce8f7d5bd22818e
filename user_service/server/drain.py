"""The start of a shutdown, in the application: calls that begin once it has started are
refused UNAVAILABLE (SHUTTING_DOWN), while calls already running go on.

gRPC's own shutdown cancels the calls it has received but not yet handed to the
application, and their callers hear CANCELLED (which clients do not retry) instead of
UNAVAILABLE. So the server refuses new calls itself first, until they stop coming (or for a
short while at most), and only then stops gRPC, with what is left of the grace period.
"""

from __future__ import annotations

import asyncio
import threading
import time

from user_service.domain.errors import Unavailable

RETRY_AFTER_SECONDS = 1.0


class Drain:
    def __init__(self) -> None:
        self._started = threading.Event()
        self._last_refusal = 0.0

    def begin(self) -> None:
        self._last_refusal = time.monotonic()
        self._started.set()

    def refuse_if_started(self) -> None:
        """UNAVAILABLE (SHUTTING_DOWN) once the drain has begun."""
        if self._started.is_set():
            self._last_refusal = time.monotonic()
            raise Unavailable(
                "SHUTTING_DOWN",
                "the server is shutting down; retry, another one will answer",
                retry_after_seconds=RETRY_AFTER_SECONDS,
            )

    async def wait_until_quiet(self, quiet_seconds: float, at_most_seconds: float) -> float:
        """Wait until no call was refused for `quiet_seconds`, or `at_most_seconds` passed;
        the seconds waited."""
        started = time.monotonic()
        while True:
            now = time.monotonic()
            if now - self._last_refusal >= quiet_seconds or now - started >= at_most_seconds:
                return now - started
            await asyncio.sleep(min(quiet_seconds, 0.05))
