"""Rate limits, so that passwords and tokens cannot be guessed and mail cannot be sprayed.

Failures (a wrong password, an unknown refresh, verification or reset token) are counted
per account (strictly: a few per window) and per client address (generously: many
services share an address behind Envoy); successful calls are never counted. Requests that
send email (Register, ResendVerificationEmail, ForgotPassword, an UpdateUser of the email)
are counted every time, per email address and per client address. Past a limit the
caller gets RESOURCE_EXHAUSTED (TOO_MANY_ATTEMPTS) with a RetryInfo saying when its window
ends.

Accounts are counted under a digest of their name, so that Redis holds no email address.
Tokens that fail the access check are not counted: a client still sending an expired
token would otherwise lock its whole address out of Login.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from user_service import metrics
from user_service.adapters.counters import Counters
from user_service.domain.errors import ResourceExhausted


@dataclass(frozen=True)
class Limits:
    window_seconds: int = 900
    failures_per_account: int = 5
    failures_per_address: int = 100
    emails_per_account: int = 5
    emails_per_address: int = 50


def _account(kind: str, account: str) -> str:
    return f"{kind}:account:{hashlib.sha256(account.encode()).hexdigest()[:32]}"


def _address(kind: str, address: str | None) -> str:
    return f"{kind}:address:{address or 'unknown'}"


class RateLimits:
    def __init__(self, counters: Counters, limits: Limits) -> None:
        self._counters = counters
        self._limits = limits

    def check_failures(self, account: str | None, address: str | None) -> None:
        """TOO_MANY_ATTEMPTS when the account or the address failed too often lately."""
        keys = [_address("failures", address)]
        caps = [self._limits.failures_per_address]
        if account is not None:
            keys.append(_account("failures", account))
            caps.append(self._limits.failures_per_account)
        self._refuse_past(keys, caps)

    def count_failure(self, account: str | None, address: str | None) -> None:
        keys = [_address("failures", address)]
        if account is not None:
            keys.append(_account("failures", account))
        self._counters.hit(keys, self._limits.window_seconds)

    def take_email_request(self, email: str, address: str | None) -> None:
        """Count a request that sends email, or refuse it with TOO_MANY_ATTEMPTS."""
        keys = [_account("emails", email), _address("emails", address)]
        self._refuse_past(keys, [self._limits.emails_per_account, self._limits.emails_per_address])
        self._counters.hit(keys, self._limits.window_seconds)

    def _refuse_past(self, keys: Sequence[str], caps: Sequence[int]) -> None:
        exceeded = [
            (key, left)
            for key, (count, left), cap in zip(keys, self._counters.peek(keys), caps, strict=True)
            if count >= cap
        ]
        for key, _ in exceeded:
            metrics.rate_limit_refusals.labels(":".join(key.split(":", 2)[:2])).inc()  # e.g. failures:account
        waits = [left for _, left in exceeded]
        if waits:
            raise ResourceExhausted(
                "TOO_MANY_ATTEMPTS",
                "too many attempts; retry later",
                retry_after_seconds=max(*waits, 1.0),
            )
