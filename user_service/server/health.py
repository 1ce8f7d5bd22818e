"""Health follows the database: every service is SERVING while PostgreSQL answers and
NOT_SERVING while it does not, checked every few seconds on a thread of its own (a check
may hang on a database that does not answer; the event loop never waits for it), which
hands each change to the health servicer on the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from typing import TypeAlias

from grpc_health.v1 import _async as health_async
from grpc_health.v1 import health_pb2

log = logging.getLogger(__name__)

Status: TypeAlias = health_pb2.HealthCheckResponse.ServingStatus.ValueType


class DatabaseHealth:
    def __init__(
        self,
        servicer: health_async.HealthServicer,
        services: Sequence[str],
        ping: Callable[[], None],
        interval_seconds: float,
    ) -> None:
        self._servicer = servicer
        self._services = tuple(services)
        self._ping = ping
        self._interval = interval_seconds
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="database-health", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _set_all(self, status: Status) -> None:
        for service in self._services:
            await self._servicer.set(service, status)

    async def start(self) -> None:
        """NOT_SERVING until the database has answered, then checks on the thread."""
        self._loop = asyncio.get_running_loop()
        await self._set_all(health_pb2.HealthCheckResponse.NOT_SERVING)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop, without waiting: a check in progress may be waiting on a
        database that does not answer, and the thread is a daemon that dies with the process."""
        self._stopping.set()

    def _publish(self, status: Status) -> None:
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop has closed: the process is ending
            asyncio.run_coroutine_threadsafe(self._set_all(status), self._loop)

    def _run(self) -> None:
        serving: bool | None = None
        while True:
            healthy = self._healthy()
            if self._stopping.is_set():
                return
            if healthy != serving:
                status = (
                    health_pb2.HealthCheckResponse.SERVING
                    if healthy
                    else health_pb2.HealthCheckResponse.NOT_SERVING
                )
                self._publish(status)
                log.log(
                    logging.INFO if healthy else logging.WARNING,
                    "database %s: health %s",
                    "reachable" if healthy else "unreachable",
                    health_pb2.HealthCheckResponse.ServingStatus.Name(status),
                )
                serving = healthy
            if self._stopping.wait(self._interval):
                return

    def _healthy(self) -> bool:
        try:
            self._ping()
        except Exception as exc:
            log.debug("database check failed: %s", type(exc).__name__)
            return False
        return True
