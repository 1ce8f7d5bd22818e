"""`/metrics` on METRICS_PORT for Prometheus, on a thread of its own."""

from __future__ import annotations

from wsgiref.simple_server import WSGIServer

from prometheus_client import REGISTRY, start_http_server
from prometheus_client.registry import Collector


class MetricsPortUnavailable(Exception):
    pass


class MetricsServer:
    def __init__(self, server: WSGIServer) -> None:
        self._server = server
        self.port: int = server.server_address[1]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def serve_metrics(port: int, registry: Collector = REGISTRY) -> MetricsServer:
    """Serve `registry` (the process's own metrics, with process metrics, by default)."""
    try:
        server, _thread = start_http_server(port, registry=registry)
    except OSError:
        raise MetricsPortUnavailable(
            f"cannot serve metrics on port {port}: is another process using it?"
        ) from None
    return MetricsServer(server)
