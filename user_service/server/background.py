"""Work the server does on a schedule, each job on a daemon thread of its own: the email
dispatcher, the sweeper of expired holds, the reconciliation check.

A run that fails is logged and the next comes on schedule; a run that says there is more
to do (returns True) is followed at once. `stop()` never waits: a run may be blocked on
the database, and the thread dies with the process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class PeriodicJob:
    def __init__(self, name: str, interval_seconds: float, work: Callable[[], bool | None]) -> None:
        self.name = name
        self._interval = interval_seconds
        self._work = work
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            more = False
            try:
                more = bool(self._work())
            except Exception:
                log.exception("%s failed; next run in %g s", self.name, self._interval)
            if not more and self._stopping.wait(self._interval):
                return
