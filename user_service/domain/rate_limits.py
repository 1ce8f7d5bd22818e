"""Rate limits, so that passwords and tokens cannot be guessed and mail cannot be sprayed.

Failures (a wrong password, an unknown refresh, verification or reset token) are counted
per account (strictly: a few per window) and per client address (generously: many
services share an address behind Envoy); successful calls are never counted. Requests that
send email (Register, ResendVerificationEmail, ForgotPassword, an UpdateUser of the email)
are counted every time, per email address and per client address. Past a limit the
caller gets RESOURCE_EXHAUSTED (TOO_MANY_ATTEMPTS) with a RetryInfo saying when its window
ends.

A password check (Login, ChangePassword) counts as a failure while it runs: the limit is
on failures plus checks running, so that a burst of guesses sent at once gets no more
checks than the limit (each would otherwise read the count before any had failed). A
check that succeeds is not counted once it ends, and a caller refused only because of
checks still running is told to retry in a second.

Accounts are counted under a digest of their name, so that Redis holds no email address.
Tokens that fail the access check are not counted: a client still sending an expired
token would otherwise lock its whole address out of Login.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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


# A running check's count lapses after this long (a process that died during one).
RUNNING_LAPSE_SECONDS = 60
BUSY_RETRY_SECONDS = 1.0


class PasswordAttempt:
    """A password check under way; `failed()` when the password was wrong."""

    def __init__(self) -> None:
        self.wrong = False

    def failed(self) -> None:
        self.wrong = True


class RateLimits:
    def __init__(self, counters: Counters, limits: Limits) -> None:
        self._counters = counters
        self._limits = limits

    def check_failures(self, address: str | None) -> None:
        """TOO_MANY_ATTEMPTS when the address failed too often lately (guessed tokens; a
        password check goes through `password_attempt`, which counts the account too)."""
        self._refuse_past([_address("failures", address)], [self._limits.failures_per_address])

    @contextmanager
    def password_attempt(self, account: str, address: str | None) -> Iterator[PasswordAttempt]:
        """Around a password check: TOO_MANY_ATTEMPTS when failures plus checks running
        (this one included) pass a limit; a failure is counted when the check says so."""
        keys = [_address("failures", address), _account("failures", account)]
        caps = [self._limits.failures_per_address, self._limits.failures_per_account]
        running_keys = [f"running:{key}" for key in keys]
        running = self._counters.enter(running_keys, RUNNING_LAPSE_SECONDS)
        try:
            waits = []
            for key, (failures, left), now, cap in zip(
                keys, self._counters.peek(keys), running, caps, strict=True
            ):
                if failures >= cap:
                    waits.append((key, left))
                elif failures + now > cap:
                    waits.append((key, BUSY_RETRY_SECONDS))
            self._refuse(waits)
            attempt = PasswordAttempt()
            yield attempt
            if attempt.wrong:
                self._counters.hit(keys, self._limits.window_seconds)
        finally:
            self._counters.leave(running_keys)

    def count_failure(self, address: str | None) -> None:
        """One more failure from the address (an unknown token)."""
        self._counters.hit([_address("failures", address)], self._limits.window_seconds)

    def take_email_request(self, email: str, address: str | None) -> None:
        """Count a request that sends email, or refuse it with TOO_MANY_ATTEMPTS."""
        keys = [_account("emails", email), _address("emails", address)]
        self._refuse_past(keys, [self._limits.emails_per_account, self._limits.emails_per_address])
        self._counters.hit(keys, self._limits.window_seconds)

    def _refuse_past(self, keys: Sequence[str], caps: Sequence[int]) -> None:
        self._refuse(
            [
                (key, left)
                for key, (count, left), cap in zip(keys, self._counters.peek(keys), caps, strict=True)
                if count >= cap
            ]
        )

    def _refuse(self, exceeded: Sequence[tuple[str, float]]) -> None:
        for key, _ in exceeded:
            metrics.rate_limit_refusals.labels(":".join(key.split(":", 2)[:2])).inc()  # e.g. failures:account
        waits = [left for _, left in exceeded]
        if waits:
            raise ResourceExhausted(
                "TOO_MANY_ATTEMPTS",
                "too many attempts; retry later",
                retry_after_seconds=max(*waits, 1.0),
            )
