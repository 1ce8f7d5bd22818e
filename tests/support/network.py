"""Ports and gRPC helpers for tests."""

from __future__ import annotations

import socket
import time
from typing import cast

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def raw_method(channel: grpc.Channel, method: str) -> grpc.UnaryUnaryMultiCallable[bytes, bytes]:
    """A unary method called with bytes, for test services that have no protos."""
    return cast("grpc.UnaryUnaryMultiCallable[bytes, bytes]", channel.unary_unary(method))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def health_status(channel: grpc.Channel, service: str = "") -> int | None:
    """The service's health status, or None when the server cannot be reached."""
    try:
        response = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=2
        )
    except grpc.RpcError as error:
        if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            return None
        raise
    return int(response.status)


def wait_for_health(
    channel: grpc.Channel, expected: int, services: tuple[str, ...] = ("",), within: float = 30
) -> None:
    """Poll until every service reports `expected`; fail with what was last seen."""
    deadline = time.monotonic() + within
    while True:
        seen = {service: health_status(channel, service) for service in services}
        if all(status == expected for status in seen.values()):
            return
        if time.monotonic() > deadline:
            names = {
                s: health_pb2.HealthCheckResponse.ServingStatus.Name(v) if v is not None else None
                for s, v in seen.items()
            }
            raise AssertionError(
                f"health never became {health_pb2.HealthCheckResponse.ServingStatus.Name(expected)}: {names}"
            )
        time.sleep(0.1)
