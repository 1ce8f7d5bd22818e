"""Health follows the database: every service is SERVING while PostgreSQL answers and
NOT_SERVING while it does not, checked every few seconds on a thread of its own."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from grpc_health.v1 import health, health_pb2

log = logging.getLogger(__name__)


class DatabaseHealth:
    def __init__(
        self,
        servicer: health.HealthServicer,
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
        self._set_all(health_pb2.HealthCheckResponse.NOT_SERVING)  # until the database has answered

    def _set_all(self, status: health_pb2.HealthCheckResponse.ServingStatus.ValueType) -> None:
        for service in self._services:
            self._servicer.set(service, status)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop, without waiting: a check in progress may be waiting on a
        database that does not answer, and the thread is a daemon that dies with the process."""
        self._stopping.set()

    def _run(self) -> None:
        serving: bool | None = None
        while True:
            healthy = self._healthy()
            if healthy != serving:
                status = (
                    health_pb2.HealthCheckResponse.SERVING
                    if healthy
                    else health_pb2.HealthCheckResponse.NOT_SERVING
                )
                self._set_all(status)
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
