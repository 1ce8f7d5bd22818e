"""Login's rules, with fakes for storage: an unknown email costs a password check like a
known one, and an unverified user hears so only after the password was right."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from user_service.adapters.counters import LocalCounters
from user_service.adapters.jwt_tokens import JwtCodec
from user_service.adapters.session_cache import LocalSessionCache
from user_service.domain.authentication import AccessTokens
from user_service.domain.errors import FailedPrecondition, Unauthenticated
from user_service.domain.model import Credentials, Role, User
from user_service.domain.rate_limits import Limits, RateLimits
from user_service.domain.sessions import SessionRules, SessionsHandler

STAND_IN = "stand-in-hash"
STORED = "stored-hash"


class CountingHasher:
    def __init__(self) -> None:
        self.checked: list[str] = []

    def hash(self, password: str) -> str:
        return STORED

    def verify(self, password: str, password_hash: str) -> bool:
        self.checked.append(password_hash)
        return password == "right password" and password_hash == STORED


class FakeTransactions:
    def __init__(self, found: Credentials | None) -> None:
        self.uow = SimpleNamespace(
            users=SimpleNamespace(credentials=lambda email: found),
            audit=SimpleNamespace(add=lambda *events: None),
            sessions=SimpleNamespace(
                open=lambda user_id, expire: uuid.uuid4(), add_refresh_token=lambda *args: None
            ),
            commit=lambda: None,
        )

    def run(self, work: Any) -> Any:
        return work(self.uow)


def user(*, verified: bool = True, active: bool = True) -> Credentials:
    now = datetime.now(UTC)
    account = User(uuid.uuid4(), "ada@example.com", "Ada", active, verified, (Role.USER,), now, now)
    return Credentials(account, STORED)


def handler(found: Credentials | None, hasher: CountingHasher) -> SessionsHandler:
    return SessionsHandler(
        transactions=FakeTransactions(found),  # type: ignore[arg-type]
        passwords=hasher,
        access_tokens=AccessTokens(JwtCodec(["unit-test-secret-0123456789abcdefghij"]), 60),
        limits=RateLimits(LocalCounters(), Limits()),
        cache=LocalSessionCache(),
        rules=SessionRules(refresh_token_ttl_seconds=3600, require_email_verification=True),
        stand_in_hash=STAND_IN,
    )


def test_an_unknown_email_is_checked_against_the_stand_in_hash():
    hasher = CountingHasher()

    with pytest.raises(Unauthenticated):
        handler(None, hasher).login("nobody@example.com", "right password")

    assert hasher.checked == [STAND_IN]


def test_a_malformed_email_fails_like_an_unknown_one():
    hasher = CountingHasher()

    with pytest.raises(Unauthenticated) as refused:
        handler(None, hasher).login("not an email", "right password")

    assert refused.value.reason == "INVALID_CREDENTIALS"
    assert hasher.checked == [STAND_IN]


@pytest.mark.parametrize(("found", "password"), [(user(), "wrong"), (user(active=False), "right password")])
def test_wrong_passwords_and_inactive_users_fail_alike(found, password):
    with pytest.raises(Unauthenticated) as refused:
        handler(found, CountingHasher()).login("ada@example.com", password)

    assert (refused.value.reason, refused.value.message) == (
        "INVALID_CREDENTIALS",
        "the email address or the password is wrong",
    )


def test_an_unverified_user_is_told_only_with_the_right_password():
    unverified = user(verified=False)

    with pytest.raises(Unauthenticated):
        handler(unverified, CountingHasher()).login("ada@example.com", "wrong")
    with pytest.raises(FailedPrecondition):
        handler(unverified, CountingHasher()).login("ada@example.com", "right password")


def test_a_verified_user_gets_tokens():
    issued = handler(user(), CountingHasher()).login("Ada@Example.com", "right password")

    assert issued.expires_in == 60
    assert issued.access_token.count(".") == 2
