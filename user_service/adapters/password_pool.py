"""bcrypt on threads of its own, so that a burst of logins never takes the server's threads.

bcrypt releases the GIL, so a pool of about one thread per core keeps every core busy. A
call queues for it at most as long as its deadline allows (and never longer than
MAX_WAIT_SECONDS), and only so many calls may queue at once: past either limit the call
is refused with RESOURCE_EXHAUSTED and a RetryInfo, instead of holding a server thread
while it waits. The other RPCs keep the server's threads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from user_service import deadlines
from user_service.adapters.passwords import PasswordHasher
from user_service.domain.errors import ResourceExhausted

T = TypeVar("T")

MAX_WAIT_SECONDS = 5.0
RETRY_AFTER_SECONDS = 1.0


class PasswordPool:
    """`hash` and `verify` of a hasher (bcrypt), run on `threads` threads (0: one per core)
    with at most `max_queued` calls waiting."""

    def __init__(self, hasher: PasswordHasher, threads: int = 0, max_queued: int | None = None) -> None:
        self._hasher = hasher
        self.threads = threads or os.cpu_count() or 1
        self._executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="bcrypt")
        self._admitted = threading.BoundedSemaphore(
            self.threads + (max_queued if max_queued is not None else 4 * self.threads)
        )

    def hash(self, password: str) -> str:
        return self._run(self._hasher.hash, password)

    def verify(self, password: str, password_hash: str) -> bool:
        return self._run(self._hasher.verify, password, password_hash)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _run(self, function: Callable[..., T], *args: str) -> T:
        if not self._admitted.acquire(blocking=False):
            raise _busy()
        try:
            future: Future[T] = self._executor.submit(function, *args)
        except BaseException:
            self._admitted.release()
            raise
        future.add_done_callback(lambda _done: self._admitted.release())
        left = deadlines.remaining()
        try:
            return future.result(timeout=MAX_WAIT_SECONDS if left is None else min(left, MAX_WAIT_SECONDS))
        except FutureTimeout:
            future.cancel()  # still queued: it never runs; already running: its result is dropped
            raise _busy() from None


def _busy() -> ResourceExhausted:
    return ResourceExhausted(
        "PASSWORD_CHECKS_BUSY", "too many password checks at once; retry shortly", RETRY_AFTER_SECONDS
    )
