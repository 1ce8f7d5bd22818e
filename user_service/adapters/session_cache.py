"""What is known about a session (its user's roles, or that it is revoked), so that checking
an access token costs one Redis round trip instead of a database query.

Two kinds of entry:
- roles of a live session, a hint kept VALID_SECONDS and written only where no entry
  is (SET NX), so that a check that read the database just before a revocation cannot
  put back what the revocation wrote;
- REVOKED, a fact that never changes, written over anything, kept while the session's
  access tokens could still be presented.

Revocations write the database first, then the cache. Redis being down never lets a
revoked token through, because callers then ask the database; what could not be written
then is written as soon as Redis answers again. Without Redis (one instance) the process
keeps the entries itself.

With Redis, NearSessionCache keeps what it read for NEAR_SECONDS in the process too, so
that a token used over and over costs a Redis round trip once a second, not every call.
A revocation reaches its own process at once and every other within NEAR_SECONDS.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Protocol

import redis

from user_service.adapters.redis_link import KEY_PREFIX, RedisDown, RedisLink

VALID_SECONDS = 60
NEAR_SECONDS = 1.0
REVOKED = "-"
MAX_LOCAL_ENTRIES = 100_000

log = logging.getLogger(__name__)


class CacheUnavailable(Exception):
    """The cache cannot answer now: ask the database."""


class SessionCache(Protocol):
    def get(self, session_id: str) -> str | None:
        """The roles ("admin,user"), REVOKED, or None when nothing is cached."""

    def peek(self, session_id: str) -> str | None:
        """As `get`, from the process's memory alone (never a round trip): None when the
        entry is not there."""

    def remember(self, session_id: str, roles: str) -> None:
        """Cache a live session's roles, unless an entry is there already."""

    def revoke(self, session_ids: Iterable[str], ttl_seconds: int) -> None: ...

    def forget(self, session_ids: Iterable[str]) -> None:
        """Drop cached roles (they changed); a revoked session stays revoked."""


class LocalSessionCache:
    def __init__(self, valid_seconds: float = VALID_SECONDS) -> None:
        self._valid_seconds = valid_seconds
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[str, float]] = {}

    def get(self, session_id: str) -> str | None:
        with self._lock:
            value, expires = self._entries.get(session_id, (None, 0.0))
        return value if expires > time.monotonic() else None

    peek = get  # this cache is the process's memory

    def remember(self, session_id: str, roles: str) -> None:
        now = time.monotonic()
        with self._lock:
            if self._entries.get(session_id, ("", 0.0))[1] > now:
                return
            self._put(session_id, roles, now + self._valid_seconds, now)

    def keep(self, session_id: str, value: str) -> None:
        """Keep what another cache said (roles or REVOKED) for this cache's valid_seconds."""
        now = time.monotonic()
        with self._lock:
            self._put(session_id, value, now + self._valid_seconds, now)

    def _put(self, session_id: str, value: str, until: float, now: float) -> None:
        if len(self._entries) >= MAX_LOCAL_ENTRIES:
            self._entries = {k: v for k, v in self._entries.items() if v[1] > now}
        self._entries[session_id] = (value, until)

    def revoke(self, session_ids: Iterable[str], ttl_seconds: int) -> None:
        until = time.monotonic() + ttl_seconds
        with self._lock:
            for session_id in session_ids:
                self._entries[session_id] = (REVOKED, until)

    def forget(self, session_ids: Iterable[str]) -> None:
        with self._lock:
            for session_id in session_ids:
                if self._entries.get(session_id, ("", 0.0))[0] != REVOKED:
                    self._entries.pop(session_id, None)


_DELETE_UNLESS_REVOKED = (
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
)


def _key(session_id: str) -> str:
    return f"{KEY_PREFIX}session:{session_id}"


class RedisSessionCache:
    def __init__(self, link: RedisLink) -> None:
        self._link = link
        self._lock = threading.Lock()
        self._unwritten_revocations: dict[str, int] = {}  # session id -> ttl
        self._unwritten_forgets: set[str] = set()

    def get(self, session_id: str) -> str | None:
        self._write_pending()
        try:
            value = self._link.run(lambda client: client.get(_key(session_id)))
        except RedisDown:
            raise CacheUnavailable() from None
        return str(value) if value is not None else None

    def peek(self, session_id: str) -> str | None:
        return None  # everything it knows is in Redis

    def remember(self, session_id: str, roles: str) -> None:
        try:
            self._link.run(lambda client: client.set(_key(session_id), roles, ex=VALID_SECONDS, nx=True))
        except RedisDown:
            log.debug("session not cached: Redis is down")  # a database query next time

    def revoke(self, session_ids: Iterable[str], ttl_seconds: int) -> None:
        ids = dict.fromkeys(session_ids, ttl_seconds)
        if not ids:
            return
        try:
            self._link.run(lambda client: self._write(client, ids, set()))
        except RedisDown:
            with self._lock:
                self._unwritten_revocations.update(ids)
            log.warning("%d revoked sessions not cached: Redis is down; will retry", len(ids))

    def forget(self, session_ids: Iterable[str]) -> None:
        ids = set(session_ids)
        if not ids:
            return
        try:
            self._link.run(lambda client: self._write(client, {}, ids))
        except RedisDown:
            with self._lock:
                self._unwritten_forgets |= ids

    @staticmethod
    def _write(client: redis.Redis, revocations: dict[str, int], forgets: set[str]) -> None:
        pipe = client.pipeline(transaction=False)
        for session_id, ttl in revocations.items():
            pipe.set(_key(session_id), REVOKED, ex=max(ttl, 1))
        for session_id in forgets - set(revocations):
            # Drop cached roles, but never a revocation.
            pipe.eval(_DELETE_UNLESS_REVOKED, 1, _key(session_id), REVOKED)
        pipe.execute()

    def _write_pending(self) -> None:
        if not (self._unwritten_revocations or self._unwritten_forgets):
            return
        with self._lock:
            revocations, self._unwritten_revocations = self._unwritten_revocations, {}
            forgets, self._unwritten_forgets = self._unwritten_forgets, set()
        try:
            self._link.run(lambda client: self._write(client, revocations, forgets))
        except RedisDown:
            with self._lock:
                self._unwritten_revocations.update(revocations)
                self._unwritten_forgets |= forgets


class NearSessionCache:
    """The process's memory (NEAR_SECONDS) in front of Redis."""

    def __init__(self, remote: RedisSessionCache, near_seconds: float = NEAR_SECONDS) -> None:
        self._remote = remote
        self._near = LocalSessionCache(valid_seconds=near_seconds)

    def get(self, session_id: str) -> str | None:
        value = self._near.get(session_id)
        if value is None:
            value = self._remote.get(session_id)
            if value is not None:
                self._near.keep(session_id, value)
        return value

    def peek(self, session_id: str) -> str | None:
        return self._near.get(session_id)

    def remember(self, session_id: str, roles: str) -> None:
        self._remote.remember(session_id, roles)
        self._near.remember(session_id, roles)

    def revoke(self, session_ids: Iterable[str], ttl_seconds: int) -> None:
        ids = list(session_ids)
        self._near.revoke(ids, ttl_seconds)
        self._remote.revoke(ids, ttl_seconds)

    def forget(self, session_ids: Iterable[str]) -> None:
        ids = list(session_ids)
        self._near.forget(ids)
        self._remote.forget(ids)
