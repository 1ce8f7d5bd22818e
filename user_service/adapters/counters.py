"""Counters in fixed windows, for rate limits: in Redis (shared by every instance), or in
the process (without Redis, and while Redis is down).

A key counts hits until its window ends; `peek` tells the count and the seconds left.
`enter` and `leave` count what is running now (a password being checked): a key goes up
on entering and down on leaving, and lapses after a while should a process die between
the two.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Protocol

import redis

from user_service.adapters.redis_link import KEY_PREFIX, RedisDown, RedisLink

MAX_LOCAL_KEYS = 100_000

_LEAVE = """
for _, key in ipairs(KEYS) do
  if redis.call('DECR', key) <= 0 then redis.call('DEL', key) end
end
"""


class Counters(Protocol):
    def peek(self, keys: Sequence[str]) -> list[tuple[int, float]]:
        """(count, seconds until the window ends) for each key; (0, 0) when unused."""

    def hit(self, keys: Sequence[str], window_seconds: int) -> None:
        """Count one more for each key; a key's window starts with its first hit."""

    def enter(self, keys: Sequence[str], lapse_seconds: int) -> list[int]:
        """One more running under each key; how many run now under each, this one included."""

    def leave(self, keys: Sequence[str]) -> None:
        """One fewer running under each key."""


class LocalCounters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (count, window end)
        self._running: dict[str, int] = {}

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

    def enter(self, keys: Sequence[str], lapse_seconds: int) -> list[int]:
        with self._lock:
            for key in keys:
                self._running[key] = self._running.get(key, 0) + 1
            return [self._running[key] for key in keys]

    def leave(self, keys: Sequence[str]) -> None:
        with self._lock:
            for key in keys:
                left = self._running.get(key, 0) - 1
                if left > 0:
                    self._running[key] = left
                else:  # (or it entered in Redis, before Redis went down)
                    self._running.pop(key, None)


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

    def enter(self, keys: Sequence[str], lapse_seconds: int) -> list[int]:
        def write(client: redis.Redis) -> list[int]:
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.incr(KEY_PREFIX + key)
                pipe.expire(KEY_PREFIX + key, lapse_seconds)
            return [int(count) for count in pipe.execute()[::2]]

        try:
            return self._link.run(write)
        except RedisDown:
            return self._fallback.enter(keys, lapse_seconds)

    def leave(self, keys: Sequence[str]) -> None:
        def write(client: redis.Redis) -> None:
            # Gone at zero, and never below it (a key that lapsed meanwhile stays gone).
            client.eval(_LEAVE, len(keys), *(KEY_PREFIX + key for key in keys))

        try:
            self._link.run(write)
        except RedisDown:
            self._fallback.leave(keys)
