"""Prometheus metrics: the gRPC server's, named and labelled as go-grpc-prometheus does (so
that existing Grafana dashboards work unchanged), the service's own, and the process's.

With several server processes (GRPC_PROCESSES), prometheus-client's multiprocess mode
keeps the numbers right: each process writes its metrics to files under
PROMETHEUS_MULTIPROC_DIR (set by the parent before it starts them) and the parent
serves their sum (server/processes.py). Gauges say how to combine the processes' values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram

# go-grpc-prometheus: grpc_type is unary, client_stream, server_stream or bidi_stream.
GRPC_LABELS = ("grpc_type", "grpc_service", "grpc_method")

grpc_started = Counter(
    "grpc_server_started_total", "Total number of RPCs started on the server.", GRPC_LABELS
)
grpc_handled = Counter(
    "grpc_server_handled_total",
    "Total number of RPCs completed on the server, regardless of success or failure.",
    (*GRPC_LABELS, "grpc_code"),
)
grpc_handling_seconds = Histogram(
    "grpc_server_handling_seconds",
    "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
    GRPC_LABELS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),  # go-grpc-prometheus's defaults
)
grpc_msg_received = Counter(
    "grpc_server_msg_received_total",
    "Total number of RPC stream messages received on the server.",
    GRPC_LABELS,
)
grpc_msg_sent = Counter(
    "grpc_server_msg_sent_total", "Total number of gRPC stream messages sent by the server.", GRPC_LABELS
)

logins = Counter("user_service_logins_total", "Logins by outcome.", ("outcome",))
money_moved = Counter(
    "user_service_money_moved_minor_units_total",
    "Money moved, in minor units, by kind of movement and currency.",
    ("kind", "currency"),
)
rate_limit_refusals = Counter(
    "user_service_rate_limit_refusals_total", "Calls refused by a rate limit, by limit.", ("limit",)
)
active_holds = Gauge(
    "user_service_active_holds",
    "Holds still active (money reserved for orders).",
    multiprocess_mode="mostrecent",
)
outbox_backlog = Gauge(
    "user_service_email_outbox_backlog", "Emails waiting to be sent.", multiprocess_mode="mostrecent"
)
outbox_oldest_age = Gauge(
    "user_service_email_outbox_oldest_age_seconds",
    "Age of the oldest email waiting to be sent (0 when none waits).",
    multiprocess_mode="mostrecent",
)
pool_in_use = Gauge(
    "user_service_db_pool_connections_in_use",
    "Pooled database connections checked out.",
    multiprocess_mode="livesum",
)
pool_waiting = Gauge(
    "user_service_db_pool_waiting",
    "Calls waiting for a pooled database connection.",
    multiprocess_mode="livesum",
)
reconcile_mismatched = Gauge(
    "user_service_reconcile_mismatched_accounts",
    "Accounts whose balance disagrees with their ledger or holds, at the last reconciliation.",
    multiprocess_mode="mostrecent",
)
reconcile_last_run = Gauge(
    "user_service_reconcile_last_run_timestamp_seconds",
    "When the last reconciliation finished (Unix time).",
    multiprocess_mode="mostrecent",
)


def moved(kind: str, currency: str, amount: int) -> None:
    """Count money that moved (after its transaction committed; retries return before)."""
    money_moved.labels(kind, currency).inc(amount)


@dataclass(frozen=True)
class CallMetrics:
    """The label children of one RPC, looked up once: a call pays no label lookup."""

    started: Callable[[], None]
    received: Callable[[], None]
    sent: Callable[[], None]
    observe: Callable[[float], None]
    handled: Callable[[str], None]


def for_method(method: str, grpc_type: str = "unary") -> CallMetrics:
    """`/userservice.v1.Balance/Deposit` -> its metrics."""
    service, _, name = method.lstrip("/").partition("/")
    labels = (grpc_type, service, name)
    handled_by_code: dict[str, Callable[[], None]] = {}

    def handled(code: str) -> None:
        count = handled_by_code.get(code)
        if count is None:
            count = handled_by_code[code] = grpc_handled.labels(*labels, code).inc
        count()

    return CallMetrics(
        started=grpc_started.labels(*labels).inc,
        received=grpc_msg_received.labels(*labels).inc,
        sent=grpc_msg_sent.labels(*labels).inc,
        observe=grpc_handling_seconds.labels(*labels).observe,
        handled=handled,
    )
