"""Access tokens: issued at login and refresh, checked on every call that needs one.

A token is accepted when its signature, algorithm, expiry, issuer and audience hold
(JwtCodec) and its session is live: not revoked or expired, its user neither deactivated
nor deleted. The session's state comes from the cache (one Redis round trip) or, when the
cache does not know or cannot answer, from the database (one indexed SELECT), which is
then cached. The caller's roles are the user's roles now, not those written in the token
when it was issued, so a role change takes effect within the cache's VALID_SECONDS.

`known` is the same check from the process's memory alone (the token seen before, its
session's state in the near cache): what the server does on its event loop, leaving
`__call__`, which may wait on Redis or the database, to a worker thread.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Sequence

from user_service.adapters.jwt_tokens import LEEWAY_SECONDS, JwtCodec, TokenInvalid
from user_service.adapters.session_cache import REVOKED, CacheUnavailable, SessionCache
from user_service.domain.errors import SessionEnded, Unauthenticated
from user_service.domain.model import Principal, Role
from user_service.storage.repositories.sessions import SESSION_ROLES
from user_service.storage.statements import Statements


class AccessTokens:
    def __init__(self, codec: JwtCodec, ttl_seconds: int) -> None:
        self._codec = codec
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: uuid.UUID, roles: Sequence[Role], session_id: uuid.UUID) -> str:
        claims = {
            "sub": str(user_id),
            "roles": sorted(role.value for role in roles),
            "sid": str(session_id),
            "jti": uuid.uuid4().hex,
        }
        return self._codec.encode(claims, self.ttl_seconds)


def _invalid() -> Unauthenticated:
    return Unauthenticated("INVALID_TOKEN", "the access token is invalid or has expired")


@functools.lru_cache(maxsize=256)  # a handful of role sets, parsed on every call otherwise
def _roles(cached: str) -> frozenset[Role]:
    return frozenset(Role(role) for role in cached.split(",") if role)


CHECKED_TOKENS = 10_000


class _Checked:
    """What a token that passed the checks says, and the caller it made last (the same
    object while the session's roles stay the same, so that a call makes none)."""

    __slots__ = ("_last", "expires", "session_id", "session_text", "token_id", "user_id")

    def __init__(self, user_id: uuid.UUID, session_id: uuid.UUID, token_id: str, expires: int) -> None:
        self.user_id = user_id
        self.session_id = session_id
        self.session_text = str(session_id)
        self.token_id = token_id
        self.expires = expires
        self._last: tuple[str, Principal] | None = None

    def principal(self, roles_text: str) -> Principal:
        last = self._last
        if last is None or last[0] != roles_text:
            made = Principal(self.user_id, _roles(roles_text), self.session_text, self.token_id)
            last = self._last = (roles_text, made)
        return last[1]


class TokenAuthenticator:
    def __init__(
        self, codec: JwtCodec, cache: SessionCache, statements: Statements, token_ttl_seconds: int
    ) -> None:
        self._codec = codec
        self._cache = cache
        self._statements = statements
        # A session found dead stays so; its tokens can be presented this long at most.
        self._dead_for = token_ttl_seconds
        self._checked: dict[str, _Checked] = {}

    def __call__(self, token: str) -> Principal:
        checked = self._verified(token)
        roles = self._session_roles(checked.session_id, checked.user_id)
        if roles is None:
            raise SessionEnded()
        return checked.principal(",".join(sorted(roles)))

    def known(self, token: str) -> Principal | None:
        """As calling it, from this process's memory alone (no Redis, no database); None
        when the session's state is not in memory."""
        checked = self._verified(token)
        cached = self._cache.peek(checked.session_text)
        if cached is None:
            return None
        if cached == REVOKED:
            raise SessionEnded()
        return checked.principal(cached)

    def _verified(self, token: str) -> _Checked:
        checked = self._checked.get(token)
        if checked is None:
            return self._check(token)
        if checked.expires + LEEWAY_SECONDS < time.time():
            raise _invalid()
        return checked

    def _check(self, token: str) -> _Checked:
        """Signature, algorithm, issuer, audience, expiry and claims, once per token: a token
        is the same bytes each time a client sends it, and the keys do not change while the
        process runs, so only its expiry needs checking again (CHECKED_TOKENS kept)."""
        try:
            claims = self._codec.decode(token, required=("sid", "roles"))
            checked = _Checked(
                uuid.UUID(claims["sub"]), uuid.UUID(claims["sid"]), str(claims["jti"]), claims["exp"]
            )
        except (TokenInvalid, ValueError, TypeError, AttributeError):
            raise _invalid() from None
        if len(self._checked) >= CHECKED_TOKENS:
            self._checked.clear()
        self._checked[token] = checked
        return checked

    def _session_roles(self, session_id: uuid.UUID, user_id: uuid.UUID) -> frozenset[Role] | None:
        key = str(session_id)
        try:
            cached = self._cache.get(key)
        except CacheUnavailable:
            return self._from_database(session_id, user_id)
        if cached is None:
            roles = self._from_database(session_id, user_id)
            if roles is None:
                self._cache.revoke([key], self._dead_for)
            else:
                self._cache.remember(key, ",".join(sorted(roles)))
            return roles
        if cached == REVOKED:
            return None
        return _roles(cached)

    def _from_database(self, session_id: uuid.UUID, user_id: uuid.UUID) -> frozenset[Role] | None:
        roles = self._statements.one(SESSION_ROLES, {"session": session_id, "user": user_id})
        return frozenset(Role(role) for role in roles) if roles is not None else None
