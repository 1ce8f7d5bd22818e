"""grpc.health.v1.Health/Watch on a thread of its own: every status the server sends, in order."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Self

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


class HealthWatch:
    def __init__(self, channel: grpc.Channel, service: str = "") -> None:
        self._stream = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=service)
        )
        self._lock = threading.Lock()
        self._seen: list[int] = []
        self._thread = threading.Thread(target=self._follow, daemon=True)

    def _follow(self) -> None:
        try:
            for response in self._stream:
                with self._lock:
                    self._seen.append(int(response.status))
        except grpc.RpcError:
            pass  # cancelled at the end, or the server went away: what was seen is kept

    def statuses(self) -> list[int]:
        with self._lock:
            return list(self._seen)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stream.cancel()
        self._thread.join(timeout=5)
