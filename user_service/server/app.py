"""The server's life: build it, serve, and on SIGTERM/SIGINT drain and exit 0.

gRPC serves on an asyncio event loop (grpc.aio, on uvloop). Each RPC runs as a task on it;
the servicers await the hot reads and writes there (storage/loop_statements.py) and hand
the rest of the handlers' work, which blocks (SQLAlchemy, bcrypt, Redis, SMTP), to the
loop's worker threads (GRPC_MAX_WORKERS of them). Health checks and background jobs run
on threads of their own.

Shutdown, in this order, with no step waiting on the database: health turns NOT_SERVING
(and stays so), new calls are refused (UNAVAILABLE: by the application first, then by
gRPC, server/drain.py), calls in flight get SHUTDOWN_GRACE_SECONDS to finish; the health
thread and the background jobs are only told to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import grpc
import uvloop
from google.protobuf.descriptor import ServiceDescriptor
from grpc_health.v1 import _async as health_async
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from user_service import metrics
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
from user_service.storage.deposit_batches import DepositBatches
from userservice.v1 import balance_pb2_grpc, user_auth_pb2_grpc

SERVICE_NAMES = (USER_AUTH.full_name, BALANCE.full_name)
# Before gRPC stops, new calls are refused by the application until none came for this
# long (or for DRAIN_AT_MOST_SECONDS): gRPC would cancel those it holds (server/drain.py).
DRAIN_QUIET_SECONDS = 0.25
DRAIN_AT_MOST_SECONDS = 2.0

log = logging.getLogger(__name__)


class PortUnavailable(Exception):
    pass


class GenericOnly:
    """A server that a generated add_*Servicer_to_server registers generic handlers with,
    and no registered methods: grpc.aio's server waits for the next call of each
    registered method separately, so that every call cost a wait over all 23 methods
    (about a tenth of GetMe's work); one generic handler per service finds the method in
    a dict instead."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service: str, handlers: Mapping[str, object]) -> None:
        """Left out: see the class."""


async def _nothing() -> None:
    return None


@dataclass
class RunningServer:
    server: grpc.aio.Server
    port: int
    health: health_async.HealthServicer
    database_health: DatabaseHealth
    # Started once the server serves, told to stop when it drains.
    jobs: list[PeriodicJob] = field(default_factory=list)
    # Releases what the handlers hold (Redis connections, the bcrypt threads), after the drain.
    close: Callable[[], None] = lambda: None
    # Closes the event loop's database connections, after the drain.
    close_loop_connections: Callable[[], Awaitable[None]] = _nothing
    # Adds the calls' counts to the metrics every second (metrics.CallMetrics).
    metrics_flusher: asyncio.Task[None] | None = None

    # Refuses new calls in the application before gRPC stops (server/drain.py).
    drain: Drain = field(default_factory=Drain)

    async def stop(self, grace_seconds: float) -> None:
        await self.health.enter_graceful_shutdown()
        self.drain.begin()
        log.info("refusing new calls; calls in flight have %g s to finish", grace_seconds)
        waited = await self.drain.wait_until_quiet(
            DRAIN_QUIET_SECONDS, min(grace_seconds, DRAIN_AT_MOST_SECONDS)
        )
        self.database_health.stop()
        for job in self.jobs:
            job.stop()
        await self.server.stop(max(grace_seconds - waited, 0))
        if self.metrics_flusher is not None:
            self.metrics_flusher.cancel()
        metrics.flush_counted()  # the last calls' counts
        await self.close_loop_connections()
        self.close()


def unimplemented_methods(servicers: Iterable[tuple[object, type, ServiceDescriptor]]) -> set[str]:
    """Full paths of the RPCs a servicer leaves to its generated base class."""
    return {
        f"/{service.full_name}/{method.name}"
        for servicer, base, service in servicers
        for method in service.methods
        if getattr(type(servicer), method.name) is getattr(base, method.name)
    }


async def start_server(
    settings: Settings,
    database: Database,
    *,
    extra_handlers: Sequence[grpc.GenericRpcHandler] = (),
    extra_policies: Mapping[str, Policy] | None = None,
    process_index: int = 0,
) -> RunningServer:
    """Start serving on settings.grpc_port (0: any free port; see RunningServer.port), on
    the running event loop, whose worker threads it sets to GRPC_MAX_WORKERS."""
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=settings.grpc_max_workers, thread_name_prefix="grpc-worker")
    )
    services = build_services(settings, database)
    drain = Drain()
    transactions, max_amount = database.transactions, settings.max_amount
    user_auth = UserAuthServicer(services.user_auth)
    balance = BalanceServicer(
        BalancesHandler(
            transactions,
            database.loop_statements,
            DepositBatches(database.loop_statements, database.deposits_together, settings.deposit_batch_max),
            max_amount,
        ),
        TransfersHandler(transactions, max_amount),
        HoldsHandler(transactions, max_amount),
    )
    unimplemented = unimplemented_methods(
        [
            (user_auth, user_auth_pb2_grpc.UserAuthServicer, USER_AUTH),
            (balance, balance_pb2_grpc.BalanceServicer, BALANCE),
        ]
    )
    server = grpc.aio.server(
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
    user_auth_pb2_grpc.add_UserAuthServicer_to_server(user_auth, GenericOnly(server))
    balance_pb2_grpc.add_BalanceServicer_to_server(balance, GenericOnly(server))
    health_servicer = health_async.HealthServicer()
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
    await database_health.start()
    await server.start()
    for job in jobs:
        job.start()
    return RunningServer(
        server,
        port,
        health_servicer,
        database_health,
        jobs,
        services.close,
        database.close_loop_connections,
        asyncio.get_running_loop().create_task(_flush_metrics_every(metrics.FLUSH_SECONDS)),
        drain,
    )


async def _flush_metrics_every(seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        metrics.flush_counted()


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
    early = threading.Event()  # a signal while the database opens, before the loop runs
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: early.set())
    with contextlib.ExitStack() as stack:
        if own_metrics:
            stack.callback(serve_metrics(settings.metrics_port).stop)
        database = stack.enter_context(open_database(settings))
        uvloop.run(
            _serve_until_signalled(
                settings,
                database,
                early,
                extra_handlers=extra_handlers,
                extra_policies=extra_policies,
                process_index=process_index,
            )
        )
    log.info("stopped")
    return 0


async def _serve_until_signalled(
    settings: Settings,
    database: Database,
    early: threading.Event,
    *,
    extra_handlers: Sequence[grpc.GenericRpcHandler],
    extra_policies: Mapping[str, Policy] | None,
    process_index: int,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, _request_stop, signum, stop)
    if early.is_set():
        stop.set()
    running = await start_server(
        settings,
        database,
        extra_handlers=extra_handlers,
        extra_policies=extra_policies,
        process_index=process_index,
    )
    log.info("serving gRPC on port %d", running.port)
    await stop.wait()
    await running.stop(settings.shutdown_grace_seconds)


def _request_stop(signum: int, stop: asyncio.Event) -> None:
    log.info("%s received: shutting down", signal.Signals(signum).name)
    stop.set()
