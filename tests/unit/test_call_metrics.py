"""go-grpc-prometheus's counters, counted in the call and added to prometheus-client's
when flushed: nothing is lost or counted twice, and a unary call's messages follow its
calls (one received per call started, one sent per call that ended OK)."""

from __future__ import annotations

import uuid

from prometheus_client import REGISTRY

from user_service import metrics


def sample(name: str, method: str, **labels: str) -> float:
    found = REGISTRY.get_sample_value(
        name, {"grpc_type": "unary", "grpc_service": "test.Counted", "grpc_method": method, **labels}
    )
    return found or 0.0


def test_calls_are_counted_when_flushed_and_only_once():
    method = f"M{uuid.uuid4().hex[:8]}"
    counted = metrics.CallMetrics(f"/test.Counted/{method}")
    for code in ("OK", "OK", "NOT_FOUND"):
        counted.started()
        counted.handled(code)
        counted.observe(0.001)
    assert sample("grpc_server_started_total", method) == 0  # not flushed yet
    assert sample("grpc_server_handling_seconds_count", method) == 3  # observed at once

    metrics.flush_counted()
    metrics.flush_counted()  # nothing new: nothing added

    assert sample("grpc_server_started_total", method) == 3
    assert sample("grpc_server_msg_received_total", method) == 3
    assert sample("grpc_server_handled_total", method, grpc_code="OK") == 2
    assert sample("grpc_server_handled_total", method, grpc_code="NOT_FOUND") == 1
    assert sample("grpc_server_msg_sent_total", method) == 2
