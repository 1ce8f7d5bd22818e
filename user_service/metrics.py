"""Prometheus metrics: the gRPC server's, named and labelled as go-grpc-prometheus does (so
that existing Grafana dashboards work unchanged), the service's own, and the process's.

With several server processes (GRPC_PROCESSES), prometheus-client's multiprocess mode
keeps the numbers right: each process writes its metrics to files under
PROMETHEUS_MULTIPROC_DIR (set by the parent before it starts them) and the parent
serves their sum (server/processes.py). Gauges say how to combine the processes' values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

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
deposits_per_commit = Histogram(
    "user_service_deposits_per_commit",
    "Deposits written by one statement and its commit (storage/deposit_batches.py).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
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


_moved_by: dict[tuple[str, str], Callable[[float], None]] = {}


def moved(kind: str, currency: str, amount: int) -> None:
    """Count money that moved (after its transaction committed; retries return before)."""
    count = _moved_by.get((kind, currency))
    if count is None:  # a label lookup once per kind and currency, not per movement
        count = _moved_by[kind, currency] = money_moved.labels(kind, currency).inc
    count(amount)


FLUSH_SECONDS = 1.0  # how often the server adds what the calls counted (flush_counted)


class Counted(Protocol):
    def flush(self) -> None:
        """Add what was counted since the last flush to prometheus-client's metrics."""


_counted: list[Counted] = []


def counted_here(counted: Counted) -> None:
    """Flush `counted` with the others (flush_counted)."""
    _counted.append(counted)


def flush_counted() -> None:
    """The server calls this every FLUSH_SECONDS, and once more as it stops."""
    for counted in list(_counted):
        counted.flush()


class CallMetrics:
    """One RPC's go-grpc-prometheus metrics. Their counters count in the call's own plain
    integers and reach prometheus-client when flushed (within FLUSH_SECONDS: a scrape may
    be that much behind): an update of prometheus-client's takes a lock and a few
    microseconds, and a call made four. The latency histogram is observed on each call.
    For a unary RPC a message received is a call started, and a message sent a call that
    ended OK. Counting happens on the server's event loop only."""

    def __init__(self, method: str, grpc_type: str = "unary") -> None:
        """`method`: as gRPC names it, `/userservice.v1.Balance/Deposit`."""
        service, _, name = method.lstrip("/").partition("/")
        self._labels = (grpc_type, service, name)
        self.observe: Callable[[float], None] = grpc_handling_seconds.labels(*self._labels).observe
        self._started = 0
        self._handled: dict[str, int] = {}
        counted_here(self)

    def started(self) -> None:
        self._started += 1

    def handled(self, code: str) -> None:
        self._handled[code] = self._handled.get(code, 0) + 1

    def flush(self) -> None:
        started, self._started = self._started, 0
        handled, self._handled = self._handled, {}
        if started:
            grpc_started.labels(*self._labels).inc(started)
            grpc_msg_received.labels(*self._labels).inc(started)
        for code, count in handled.items():
            grpc_handled.labels(*self._labels, code).inc(count)
            if code == "OK":
                grpc_msg_sent.labels(*self._labels).inc(count)
