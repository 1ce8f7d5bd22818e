"""Password checks against the failure limits: a burst sent at once gets no more checks
than the limit allows, successes are not counted, and a check that breaks counts nothing."""

from __future__ import annotations

import threading
import time

import pytest

from user_service.adapters.counters import LocalCounters
from user_service.domain.errors import ResourceExhausted
from user_service.domain.rate_limits import BUSY_RETRY_SECONDS, Limits, RateLimits

LIMITS = Limits(window_seconds=60, failures_per_account=3, failures_per_address=100)


def retry_after(refused: ResourceExhausted) -> float:
    return float(refused.retry_after_seconds or 0)


def test_a_burst_of_guesses_gets_no_more_checks_than_the_limit():
    limits = RateLimits(LocalCounters(), LIMITS)
    release = threading.Event()
    checked: list[int] = []
    refused: list[float] = []

    def guess() -> None:
        try:
            with limits.password_attempt("victim@example.com", "203.0.113.7") as attempt:
                checked.append(1)
                release.wait(10)  # every guess is in flight before any has failed
                attempt.failed()
        except ResourceExhausted as error:
            refused.append(retry_after(error))

    threads = [threading.Thread(target=guess) for _ in range(10)]
    for thread in threads:
        thread.start()
    until = time.monotonic() + 10
    while len(checked) + len(refused) < 10 and time.monotonic() < until:
        time.sleep(0.01)
    release.set()
    for thread in threads:
        thread.join()

    assert (len(checked), refused) == (3, [BUSY_RETRY_SECONDS] * 7)
    with pytest.raises(ResourceExhausted) as locked:  # 3 failures: the window now
        limits.password_attempt("victim@example.com", "203.0.113.8").__enter__()
    assert retry_after(locked.value) > BUSY_RETRY_SECONDS


def fail_until_refused(limits: RateLimits, account: str) -> int:
    """How many wrong passwords `account` may still try."""
    for tried in range(100):
        try:
            with limits.password_attempt(account, None) as attempt:
                attempt.failed()
        except ResourceExhausted:
            return tried
    raise AssertionError("never refused")


def test_right_passwords_are_not_counted_once_checked():
    limits = RateLimits(LocalCounters(), LIMITS)
    for _ in range(10):
        with limits.password_attempt("owner@example.com", "203.0.113.7"):
            pass

    assert fail_until_refused(limits, "owner@example.com") == 3


def test_a_check_that_breaks_counts_nothing_and_leaves_no_check_running():
    limits = RateLimits(LocalCounters(), LIMITS)
    for _ in range(10):
        with pytest.raises(ConnectionError), limits.password_attempt("owner@example.com", None):
            raise ConnectionError("the database went away")

    assert fail_until_refused(limits, "owner@example.com") == 3
