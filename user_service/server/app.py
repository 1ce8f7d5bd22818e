"""The server's life: build it, serve, and on SIGTERM/SIGINT drain and exit 0.

Shutdown, in this order, with no step waiting on the database: health turns NOT_SERVING
(and stays so), new calls are refused (UNAVAILABLE: by the application first, then by
gRPC, server/drain.py), calls in flight get SHUTDOWN_GRACE_SECONDS to finish; the health
thread and the background jobs are only told to stop.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import FrameType

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from user_service.config import Settings
from user_service.domain.balances import BalancesHandler
from user_service.domain.hold_sweeper import HoldSweeper
from user_service.domain.holds import HoldsHandler
from user_service.domain.transfers import TransfersHandler
from user_service.server.access import BALANCE, RPC_POLICIES, USER_AUTH, Policy
from user_service.server.background import PeriodicJob
from user_service.server.drain import Drain
from user_service.server.gauges import reconcile_and_report, refresh_gauges
from user_service.server.health import DatabaseHealth
from user_service.server.interceptors import build_interceptors
from user_service.server.metrics_http import serve_metrics
from user_service.server.options import SERVER_OPTIONS
from user_service.server.servicers.balance import BalanceServicer
from user_service.server.servicers.user_auth import UserAuthServicer
from user_service.server.wiring import build_services
from user_service.storage.database import Database, open_database
from userservice.v1 import balance_pb2_grpc, user_auth_pb2_grpc

SERVICE_NAMES = (USER_AUTH.full_name, BALANCE.full_name)
# Before gRPC stops, new calls are refused by the application until none came for this
# long (or for DRAIN_AT_MOST_SECONDS): gRPC would cancel those it holds (server/drain.py).
DRAIN_QUIET_SECONDS = 0.25
DRAIN_AT_MOST_SECONDS = 2.0

log = logging.getLogger(__name__)


class PortUnavailable(Exception):
    pass


@dataclass
class RunningServer:
    server: grpc.Server
    port: int
    health: health.HealthServicer
    database_health: DatabaseHealth
    # Started once the server serves, told to stop when it drains.
    jobs: list[PeriodicJob] = field(default_factory=list)
    # Releases what the handlers hold (Redis connections, the bcrypt threads), after the drain.
    close: Callable[[], None] = lambda: None

    # Refuses new calls in the application before gRPC stops (server/drain.py).
    drain: Drain = field(default_factory=Drain)

    def stop(self, grace_seconds: float) -> None:
        self.health.enter_graceful_shutdown()
        self.drain.begin()
        log.info("refusing new calls; calls in flight have %g s to finish", grace_seconds)
        waited = self.drain.wait_until_quiet(DRAIN_QUIET_SECONDS, min(grace_seconds, DRAIN_AT_MOST_SECONDS))
        stopped = self.server.stop(max(grace_seconds - waited, 0))
        self.database_health.stop()
        for job in self.jobs:
            job.stop()
        stopped.wait()
        self.close()


def unimplemented_methods(servicers: Iterable[tuple[object, type, ServiceDescriptor]]) -> set[str]:
    """Full paths of the RPCs a servicer leaves to its generated base class."""
    return {
        f"/{service.full_name}/{method.name}"
        for servicer, base, service in servicers
        for method in service.methods
        if getattr(type(servicer), method.name) is getattr(base, method.name)
    }


def start_server(
    settings: Settings,
    database: Database,
    *,
    extra_handlers: Sequence[grpc.GenericRpcHandler] = (),
    extra_policies: Mapping[str, Policy] | None = None,
    process_index: int = 0,
) -> RunningServer:
    """Start serving on settings.grpc_port (0: any free port; see RunningServer.port)."""
    services = build_services(settings, database)
    drain = Drain()
    transactions, max_amount = database.transactions, settings.max_amount
    user_auth = UserAuthServicer(services.user_auth)
    balance = BalanceServicer(
        BalancesHandler(transactions, database.statements, max_amount),
        TransfersHandler(transactions, max_amount),
        HoldsHandler(transactions, max_amount),
    )
    unimplemented = unimplemented_methods(
        [
            (user_auth, user_auth_pb2_grpc.UserAuthServicer, USER_AUTH),
            (balance, balance_pb2_grpc.BalanceServicer, BALANCE),
        ]
    )
    server = grpc.server(
        ThreadPoolExecutor(max_workers=settings.grpc_max_workers, thread_name_prefix="grpc-worker"),
        handlers=list(extra_handlers),
        interceptors=build_interceptors(
            services.authenticate,
            {**RPC_POLICIES, **(extra_policies or {})},
            unimplemented,
            settings.trusted_proxies,
            drain,
        ),
        options=SERVER_OPTIONS,
        # Beyond this many calls at once (running or queued for a worker), gRPC answers
        # RESOURCE_EXHAUSTED at once instead of queueing without bound.
        maximum_concurrent_rpcs=settings.grpc_max_concurrent_rpcs,
    )
    user_auth_pb2_grpc.add_UserAuthServicer_to_server(user_auth, server)
    balance_pb2_grpc.add_BalanceServicer_to_server(balance, server)
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    database_health = DatabaseHealth(
        health_servicer, ("", *SERVICE_NAMES), database.ping, settings.health_check_interval_seconds
    )
    try:
        port = server.add_insecure_port(f"[::]:{settings.grpc_port}")
    except RuntimeError:
        port = 0
    if port == 0:
        raise PortUnavailable(f"cannot listen on port {settings.grpc_port}: is another process using it?")
    jobs = [
        PeriodicJob(
            "email-dispatcher", settings.email_dispatch_interval_seconds, services.dispatcher.dispatch
        ),
        PeriodicJob("hold-sweeper", settings.hold_sweep_interval_seconds, HoldSweeper(transactions).run_once),
        PeriodicJob("gauges", settings.metrics_refresh_seconds, lambda: refresh_gauges(transactions)),
    ]
    if settings.reconcile_interval_seconds and process_index == 0:  # once per pod, not per process
        jobs.append(
            PeriodicJob(
                "reconcile", settings.reconcile_interval_seconds, lambda: reconcile_and_report(transactions)
            )
        )
    server.start()
    database_health.start()
    for job in jobs:
        job.start()
    return RunningServer(server, port, health_servicer, database_health, jobs, services.close, drain)


def serve(
    settings: Settings,
    *,
    extra_handlers: Sequence[grpc.GenericRpcHandler] = (),
    extra_policies: Mapping[str, Policy] | None = None,
) -> int:
    """Serve until SIGTERM or SIGINT, then drain: in this process, or in GRPC_PROCESSES
    processes sharing the port (server/processes.py)."""
    if settings.grpc_processes > 1:
        from user_service.server.processes import supervise  # noqa: PLC0415  (it imports this module)

        return supervise(settings)
    return serve_in_process(settings, extra_handlers=extra_handlers, extra_policies=extra_policies)


def serve_in_process(
    settings: Settings,
    *,
    extra_handlers: Sequence[grpc.GenericRpcHandler] = (),
    extra_policies: Mapping[str, Policy] | None = None,
    process_index: int = 0,
    own_metrics: bool = True,
) -> int:
    """One server process. `own_metrics`: it serves its /metrics itself (else its parent
    serves every process's, from prometheus-client's multiprocess files)."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with contextlib.ExitStack() as stack:
        if own_metrics:
            stack.callback(serve_metrics(settings.metrics_port).stop)
        database = stack.enter_context(open_database(settings))
        running = start_server(
            settings,
            database,
            extra_handlers=extra_handlers,
            extra_policies=extra_policies,
            process_index=process_index,
        )
        log.info("serving gRPC on port %d", running.port)
        stop.wait()
        running.stop(settings.shutdown_grace_seconds)
    log.info("stopped")
    return 0
