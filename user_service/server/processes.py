"""GRPC_PROCESSES server processes sharing one port, so that a pod uses every core (a Python
process serves on one at a time), as grpc's own multiprocessing example does.

The parent resolves what must be one for all (the embedded database, the development
JWT secret), starts the processes (spawned: fresh interpreters, nothing of gRPC shared),
serves everyone's /metrics from prometheus-client's multiprocess files plus each process's
process metrics (labelled by pid), and passes SIGTERM/SIGINT on. Each process binds the
port with SO_REUSEPORT (the kernel spreads connections among them) and has its own
database pool, health, background jobs and graceful drain; the reconciliation job runs in
the first only. If a process dies unasked, the parent stops the others and exits 1, so
that Kubernetes restarts the pod.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from multiprocessing.process import BaseProcess
from types import FrameType

from prometheus_client import CollectorRegistry, ProcessCollector, multiprocess
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from user_service.config import Settings, development_jwt_secret
from user_service.logs import configure_logging
from user_service.server.metrics_http import MetricsPortUnavailable, serve_metrics
from user_service.storage.embedded import EmbeddedPostgresUnavailable, embedded_postgres

EXTRA_EXIT_SECONDS = 10
POLL_SECONDS = 0.2

log = logging.getLogger(__name__)


class ProcessesMetrics(Collector):
    """Each server process's process metrics (CPU, memory, file descriptors), by pid."""

    def __init__(self, pids: Callable[[], Iterable[int]]) -> None:
        self._pids = pids

    def collect(self) -> Iterable[Metric]:
        families: dict[str, Metric] = {}
        for pid in self._pids():
            for family in ProcessCollector(pid=_constant(pid), registry=None).collect():
                merged = families.setdefault(
                    family.name, Metric(family.name, family.documentation, family.type)
                )
                for sample in family.samples:
                    merged.add_sample(sample.name, {**sample.labels, "pid": str(pid)}, sample.value)
        return list(families.values())


def _constant(pid: int) -> Callable[[], int]:
    return lambda: pid


def supervise(settings: Settings) -> int:
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info(
            "%s received: stopping %d server processes", signal.Signals(signum).name, settings.grpc_processes
        )
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with contextlib.ExitStack() as stack:
        settings = replace(
            settings,
            database_url=settings.database_url or stack.enter_context(embedded_postgres(settings.data_dir)),
            jwt_secret=settings.jwt_secret or development_jwt_secret(settings.data_dir),
        )
        metrics_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="user-service-metrics-"))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # before the processes start
        children: list[BaseProcess] = []
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=metrics_dir)  # type: ignore[no-untyped-call]
        registry.register(ProcessesMetrics(lambda: [c.pid for c in children if c.pid and c.is_alive()]))
        stack.callback(serve_metrics(settings.metrics_port, registry).stop)

        spawn = multiprocessing.get_context("spawn")
        for index in range(settings.grpc_processes):
            started = spawn.Process(target=_serve_one, args=(settings, index), name=f"user-service-{index}")
            started.start()
            children.append(started)
        log.info("started %d server processes on port %d", len(children), settings.grpc_port)
        failed = _watch(children, stop)
        for child in children:
            if child.is_alive() and child.pid:
                os.kill(child.pid, signal.SIGTERM)
        for child in children:
            child.join(settings.shutdown_grace_seconds + EXTRA_EXIT_SECONDS)
            if child.is_alive():
                log.error("server process %s did not stop in time: killed", child.pid)
                child.kill()
                child.join()
            if child.pid:
                multiprocess.mark_process_dead(child.pid, metrics_dir)  # type: ignore[no-untyped-call]
        codes = [child.exitcode for child in children]
    log.info("stopped (exit codes %s)", codes)
    return 1 if failed or any(code != 0 for code in codes) else 0


def _watch(children: list[BaseProcess], stop: threading.Event) -> bool:
    """Wait for a stop signal (False) or a process that ended unasked (True)."""
    while not stop.wait(POLL_SECONDS):
        for child in children:
            if not child.is_alive():
                log.error(
                    "server process %s ended (exit code %s): stopping the others", child.pid, child.exitcode
                )
                return True
    return False


def _serve_one(settings: Settings, index: int) -> None:
    """The body of one server process."""
    from user_service.server.app import PortUnavailable, serve_in_process  # noqa: PLC0415  (a fresh process)

    configure_logging(settings.log_level, settings.log_format)
    try:
        code = serve_in_process(settings, process_index=index, own_metrics=False)
    except (PortUnavailable, MetricsPortUnavailable, EmbeddedPostgresUnavailable) as error:
        log.error("%s", error)
        code = 1
    sys.exit(code)
