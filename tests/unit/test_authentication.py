"""The access-token check: the token's signature and claims, then its session, from the
cache when it knows and from the database when it does not (or cannot answer)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from user_service.adapters.jwt_tokens import JwtCodec
from user_service.adapters.session_cache import REVOKED, CacheUnavailable, LocalSessionCache
from user_service.domain.authentication import AccessTokens, TokenAuthenticator
from user_service.domain.errors import Unauthenticated
from user_service.domain.model import Role
from user_service.storage.repositories.sessions import SESSION_ROLES

SECRET = "authentication-test-secret-0123456789abcdef"
CODEC = JwtCodec([SECRET])
USER = uuid.uuid4()
SESSION = uuid.uuid4()


class FakeSessions:
    def __init__(self, roles: list[str] | None) -> None:
        self.roles = roles
        self.asked = 0

    def state(self, session_id: uuid.UUID, user_id: uuid.UUID) -> list[str] | None:
        self.asked += 1
        return self.roles if (session_id, user_id) == (SESSION, USER) else None


class FakeStatements:
    """Statements.one, answering SESSION_ROLES from FakeSessions."""

    def __init__(self, sessions: FakeSessions) -> None:
        self._sessions = sessions

    def one(self, query: Any, params: dict[str, Any]) -> Any:
        assert query is SESSION_ROLES
        return self._sessions.state(params["session"], params["user"])


class DownCache(LocalSessionCache):
    def get(self, session_id: str) -> str | None:
        raise CacheUnavailable()


def authenticator(roles: list[str] | None, cache: LocalSessionCache | None = None):
    sessions = FakeSessions(roles)
    check = TokenAuthenticator(CODEC, cache or LocalSessionCache(), FakeStatements(sessions), 3600)  # type: ignore[arg-type]
    return check, sessions


def token(**claims: Any) -> str:
    return (
        AccessTokens(CODEC, 60).issue(USER, [Role.USER], SESSION) if not claims else CODEC.encode(claims, 60)
    )


def test_a_good_token_of_a_live_session_gives_the_users_roles_now():
    check, sessions = authenticator(["admin", "user"])

    principal = check(token())

    assert (principal.user_id, principal.session_id) == (USER, str(SESSION))
    assert principal.roles == {Role.ADMIN, Role.USER}  # the database's, not the token's ["user"]
    assert sessions.asked == 1


def test_a_cached_session_costs_no_database_query():
    cache = LocalSessionCache()
    check, sessions = authenticator(["user"], cache)
    check(token())

    for _ in range(3):
        check(token())

    assert sessions.asked == 1
    assert cache.get(str(SESSION)) == "user"


def test_a_revoked_session_is_refused_and_remembered_as_revoked():
    cache = LocalSessionCache()
    check, sessions = authenticator(None, cache)

    for _ in range(2):
        with pytest.raises(Unauthenticated) as refused:
            check(token())
        assert refused.value.reason == "TOKEN_REVOKED"

    assert sessions.asked == 1
    assert cache.get(str(SESSION)) == REVOKED


def test_a_revocation_is_never_overwritten_by_a_check_that_read_the_database_before_it():
    cache = LocalSessionCache()
    cache.revoke([str(SESSION)], 3600)

    cache.remember(str(SESSION), "user")

    assert cache.get(str(SESSION)) == REVOKED


def test_when_the_cache_cannot_answer_the_database_decides():
    check, sessions = authenticator(None, DownCache())

    with pytest.raises(Unauthenticated):
        check(token())
    assert sessions.asked == 1


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "not-a-uuid", "roles": ["user"], "sid": str(SESSION), "jti": "j"},
        {"sub": str(USER), "roles": ["user"], "sid": "not-a-uuid", "jti": "j"},
        {"sub": str(USER), "sid": str(SESSION), "jti": "j"},
    ],
    ids=["bad-sub", "bad-sid", "no-roles"],
)
def test_tokens_with_bad_claims_are_invalid(claims):
    check, sessions = authenticator(["user"])

    with pytest.raises(Unauthenticated) as refused:
        check(token(**claims))

    assert refused.value.reason == "INVALID_TOKEN"
    assert sessions.asked == 0


def test_a_token_checked_once_is_still_checked_for_expiry(monkeypatch):
    check, _ = authenticator(["user"])
    good = token()
    assert check(good).user_id == USER

    monkeypatch.setattr(time, "time", lambda: 10**12)  # far past its expiry

    with pytest.raises(Unauthenticated) as refused:
        check(good)
    assert refused.value.reason == "INVALID_TOKEN"


def test_a_tampered_copy_of_a_checked_token_is_checked_on_its_own():
    check, _ = authenticator(["user"])
    good = token()
    check(good)
    header, payload, signature = good.split(".")

    with pytest.raises(Unauthenticated):
        check(f"{header}.{payload}.{signature[:-2]}AA")


def test_known_answers_from_memory_only_once_the_session_is_there():
    """What the server checks on its event loop: nothing asked of the database (or Redis)."""
    check, sessions = authenticator(["admin", "user"])
    good = token()

    assert check.known(good) is None
    assert sessions.asked == 0

    asked = check(good)
    assert check.known(good) == asked
    assert sessions.asked == 1


def test_known_refuses_bad_expired_and_revoked_tokens_from_memory(monkeypatch):
    cache = LocalSessionCache()
    check, sessions = authenticator(["user"], cache)
    good = token()
    check(good)

    with pytest.raises(Unauthenticated) as garbage:
        check.known("not-a-token")
    cache.revoke([str(SESSION)], 3600)
    with pytest.raises(Unauthenticated) as revoked:
        check.known(good)
    monkeypatch.setattr(time, "time", lambda: 10**12)
    with pytest.raises(Unauthenticated) as expired:
        check.known(good)

    assert (garbage.value.reason, revoked.value.reason, expired.value.reason) == (
        "INVALID_TOKEN",
        "TOKEN_REVOKED",
        "INVALID_TOKEN",
    )
    assert sessions.asked == 1
