"""ForgotPassword and ResendVerificationEmail answer alike for known and unknown addresses,
in what they say (tests/e2e) and in what they cost: the same statements reach the database
either way (a lookup, an outbox row, a commit), so that the time of the answer does not
tell whether an address has an account. The dispatcher drops the rows of no one's."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event

from tests.support.auth_client import new_email
from tests.support.identities import make_identity
from user_service.adapters.counters import LocalCounters
from user_service.adapters.jwt_tokens import JwtCodec
from user_service.adapters.session_cache import LocalSessionCache
from user_service.domain.rate_limits import Limits, RateLimits
from user_service.domain.recovery import RecoveryHandler, ResetTokens
from user_service.domain.registration import RegistrationHandler
from user_service.storage.database import make_engine, session_factory
from user_service.storage.session_limits import SessionLimits
from user_service.storage.unit_of_work import Transactions


class NoHashing:
    def hash(self, password: str) -> str:
        raise AssertionError("not asked for")

    def verify(self, password: str, password_hash: str) -> bool:
        raise AssertionError("not asked for")


@pytest.fixture
def service_engine(service_database_url) -> Iterator[Engine]:
    engine = make_engine(service_database_url, pool_size=1)
    yield engine
    engine.dispose()


def statements_of(engine: Engine, call: Callable[[], Any]) -> list[str]:
    """The SQL `call` sends, its values left out (a commit shows as COMMIT)."""
    sent: list[str] = []

    def executed(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(re.sub(r"\s+", " ", statement))

    def committed(_conn: Any) -> None:
        sent.append("COMMIT")

    event.listen(engine, "before_cursor_execute", executed)
    event.listen(engine, "commit", committed)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", executed)
        event.remove(engine, "commit", committed)
    return sent


def handlers(engine: Engine) -> tuple[RecoveryHandler, RegistrationHandler]:
    transactions = Transactions(session_factory(engine, SessionLimits()))
    limits = RateLimits(LocalCounters(), Limits(emails_per_account=100, emails_per_address=100))
    recovery = RecoveryHandler(
        transactions=transactions,
        passwords=NoHashing(),
        reset_tokens=ResetTokens(JwtCodec(["integration-test-secret-0123456789abcdef"]), 60),
        limits=limits,
        cache=LocalSessionCache(),
        token_ttl_seconds=60,
    )
    return recovery, RegistrationHandler(transactions=transactions, passwords=NoHashing(), limits=limits)


def test_forgot_password_costs_the_same_for_known_and_unknown_addresses(service_engine, engine):
    recovery, _ = handlers(service_engine)
    known = make_identity(engine).email

    for_known = statements_of(service_engine, lambda: recovery.forgot_password(known))
    for_unknown = statements_of(service_engine, lambda: recovery.forgot_password(new_email()))

    assert for_known == for_unknown
    assert "COMMIT" in for_known


def test_resending_verification_costs_the_same_whoever_the_address_is(service_engine, engine):
    _, registration = handlers(service_engine)
    unverified = make_identity(engine, verified=False).email
    verified = make_identity(engine).email

    sent = [
        statements_of(service_engine, functools.partial(registration.resend_verification, email))
        for email in (unverified, verified, new_email())
    ]

    assert sent[0] == sent[1] == sent[2]
    assert "COMMIT" in sent[0]
