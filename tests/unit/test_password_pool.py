"""bcrypt's own threads: checks run there, a few may queue, the rest are refused at once
(RESOURCE_EXHAUSTED with RetryInfo) instead of holding a server thread; no wait outlasts
the call's deadline."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from user_service import deadlines
from user_service.adapters.password_pool import PasswordPool
from user_service.adapters.passwords import BcryptHasher
from user_service.domain.errors import ResourceExhausted


class SlowHasher:
    """Takes `seconds` per check, until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Semaphore(0)

    def hash(self, password: str) -> str:
        return "hashed"

    def verify(self, password: str, password_hash: str) -> bool:
        self.started.release()
        self.release.wait(10)
        return password == "right"


def test_checks_give_bcrypts_answers():
    pool = PasswordPool(BcryptHasher(4), threads=2)
    stored = pool.hash("correct horse battery staple")

    assert pool.verify("correct horse battery staple", stored)
    assert not pool.verify("wrong", stored)
    pool.shutdown()


def test_past_the_queue_a_check_is_refused_at_once_with_retry_info():
    slow = SlowHasher()
    pool = PasswordPool(slow, threads=1, max_queued=1)
    with ThreadPoolExecutor(2) as callers:
        running = callers.submit(pool.verify, "right", "h")
        assert slow.started.acquire(timeout=5)
        queued = callers.submit(pool.verify, "wrong", "h")
        time.sleep(0.05)

        started = time.monotonic()
        with pytest.raises(ResourceExhausted) as refused:
            pool.verify("third", "h")
        assert time.monotonic() - started < 0.5

        slow.release.set()
        assert (running.result(5), queued.result(5)) == (True, False)
    assert refused.value.reason == "PASSWORD_CHECKS_BUSY"
    assert refused.value.retry_after_seconds == 1.0
    assert pool.verify("right", "h")  # room again
    pool.shutdown()


def test_a_queued_check_never_waits_past_the_calls_deadline():
    slow = SlowHasher()
    pool = PasswordPool(slow, threads=1, max_queued=5)
    with ThreadPoolExecutor(1) as callers:
        callers.submit(pool.verify, "right", "h")
        assert slow.started.acquire(timeout=5)
        started = time.monotonic()

        with deadlines.call_deadline(0.2), pytest.raises(ResourceExhausted):
            pool.verify("right", "h")

        assert time.monotonic() - started < 1.5
        slow.release.set()
    pool.shutdown()
