"""gRPC server options for life behind Envoy, an AWS load balancer and Kubernetes."""

from __future__ import annotations

MiB = 1024 * 1024

SERVER_OPTIONS: list[tuple[str, int]] = [
    # Requests are small: a large one is a mistake or an attack, refused before it is parsed.
    ("grpc.max_receive_message_length", 1 * MiB),
    ("grpc.max_send_message_length", 4 * MiB),
    # Ping idle connections, so that a peer gone silently (or an idle timeout on the path,
    # 350 s on an AWS NLB) is noticed within 40 s.
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    # Let Envoy keep pooled connections alive with pings of its own, down to one every 10 s.
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    # Close connections after about 5 minutes (calls in flight get 30 s more), so that
    # long-lived HTTP/2 connections spread over new pods when the deployment scales.
    ("grpc.max_connection_age_ms", 300_000),
    ("grpc.max_connection_age_grace_ms", 30_000),
    # grpc.so_reuseport stays on (gRPC's default): several server processes share the port.
]
