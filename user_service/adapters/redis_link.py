"""A Redis client that gives up fast, so that Redis being down never slows a call much.

Short timeouts and no retries; after a failure Redis is not asked again for
RECHECK_SECONDS, and callers use their fallback at once (the process's own counters, or
the database). Whether Redis is up is logged when it changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

T = TypeVar("T")

TIMEOUT_SECONDS = 0.25
RECHECK_SECONDS = 2.0
KEY_PREFIX = "user-service:"

log = logging.getLogger(__name__)


class RedisDown(Exception):
    """Redis did not answer, or was found down moments ago."""


class RedisLink:
    def __init__(self, url: str) -> None:
        self.client: redis.Redis = redis.Redis.from_url(
            url,
            socket_timeout=TIMEOUT_SECONDS,
            socket_connect_timeout=TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._down = False

    def run(self, command: Callable[[redis.Redis], T]) -> T:
        """`command(client)`, or RedisDown."""
        if time.monotonic() < self._down_until:
            raise RedisDown()
        try:
            result = command(self.client)
        except redis.RedisError as error:
            with self._lock:
                self._down_until = time.monotonic() + RECHECK_SECONDS
                if not self._down:
                    log.warning("Redis unreachable (%s): using fallbacks", type(error).__name__)
                self._down = True
            raise RedisDown() from None
        if self._down:
            with self._lock:
                if self._down:
                    log.info("Redis reachable again")
                self._down = False
        return result

    def close(self) -> None:
        self.client.close()
