"""Counters in fixed windows, for rate limits: in Redis (shared by every instance), or in
the process (without Redis, and while Redis is down).

A key counts hits until its window ends; `peek` tells the count and the seconds left.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Protocol

import redis

from user_service.adapters.redis_link import KEY_PREFIX, RedisDown, RedisLink

MAX_LOCAL_KEYS = 100_000


class Counters(Protocol):
    def peek(self, keys: Sequence[str]) -> list[tuple[int, float]]:
        """(count, seconds until the window ends) for each key; (0, 0) when unused."""

    def hit(self, keys: Sequence[str], window_seconds: int) -> None:
        """Count one more for each key; a key's window starts with its first hit."""


class LocalCounters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (count, window end)

    def peek(self, keys: Sequence[str]) -> list[tuple[int, float]]:
        now = time.monotonic()
        with self._lock:
            found = [self._counts.get(key, (0, now)) for key in keys]
        return [(count, end - now) if end > now else (0, 0.0) for count, end in found]

    def hit(self, keys: Sequence[str], window_seconds: int) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._counts) > MAX_LOCAL_KEYS:
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            for key in keys:
                count, end = self._counts.get(key, (0, now))
                self._counts[key] = (count + 1, end) if end > now else (1, now + window_seconds)


class RedisCounters:
    """Redis counters, and the process's own while Redis is down (limits then hold per
    instance only: documented)."""

    def __init__(self, link: RedisLink, fallback: LocalCounters | None = None) -> None:
        self._link = link
        self._fallback = fallback or LocalCounters()

    def peek(self, keys: Sequence[str]) -> list[tuple[int, float]]:
        def read(client: redis.Redis) -> list[tuple[int, float]]:
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.get(KEY_PREFIX + key)
                pipe.pttl(KEY_PREFIX + key)
            replies = pipe.execute()
            return [
                (int(count or 0), max(int(ttl), 0) / 1000 if count else 0.0)
                for count, ttl in zip(replies[::2], replies[1::2], strict=True)
            ]

        try:
            return self._link.run(read)
        except RedisDown:
            return self._fallback.peek(keys)

    def hit(self, keys: Sequence[str], window_seconds: int) -> None:
        def write(client: redis.Redis) -> None:
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.incr(KEY_PREFIX + key)
                pipe.expire(KEY_PREFIX + key, window_seconds, nx=True)
            pipe.execute()

        try:
            self._link.run(write)
        except RedisDown:
            self._fallback.hit(keys, window_seconds)
