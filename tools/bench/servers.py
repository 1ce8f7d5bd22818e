"""The service and the echo server, each a process (group) of its own on a free port, with
its log in a file; stopped with SIGTERM to the whole group (the service's GRPC_PROCESSES
workers included), then SIGKILL if it does not end."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self, cast

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tools.bench.echo_server import ECHO_METHOD

SERVING = health_pb2.HealthCheckResponse.SERVING
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE")
REPO = Path(__file__).resolve().parents[2]


def clean_env(**settings: str) -> dict[str, str]:
    """Only the settings given, and what a process needs to run (not the shell's own)."""
    env = {key: os.environ[key] for key in _INHERITED if key in os.environ}
    env.update({"PYTHONUNBUFFERED": "1", **settings})
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bytes_method(channel: grpc.Channel, method: str) -> grpc.UnaryUnaryMultiCallable[bytes, bytes]:
    """A unary method called with bytes and answering bytes (no protobuf either way)."""
    return cast("grpc.UnaryUnaryMultiCallable[bytes, bytes]", channel.unary_unary(method))


class NotReady(Exception):
    """Answered, but not serving yet."""


class Served:
    def __init__(self, name: str, args: list[str], env: dict[str, str], port: int, log_path: Path) -> None:
        self.name = name
        self.port = port
        self.log_path = log_path
        self.command = [sys.executable, *args]
        with log_path.open("w") as log:
            self.process = subprocess.Popen(
                self.command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def wait_ready(self, probe: Callable[[], object], within: float = 60) -> None:
        """Until `probe` returns; fail with the log if the process ends or time runs out."""
        deadline = time.monotonic() + within
        while True:
            try:
                probe()
                return
            except (grpc.RpcError, NotReady):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not start:\n{self.log_tail()}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):  # workers of its own that outlived it
            os.killpg(self.process.pid, signal.SIGKILL)

    def _signal(self, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_service(env: dict[str, str], log_path: Path) -> Served:
    """`python -m user_service serve` with `env` (GRPC_PORT included); ready once healthy on
    4 x GRPC_PROCESSES connections of their own (which SO_REUSEPORT spreads over the
    processes, so that hardly any process can still be starting)."""
    served = Served("the service", ["-m", "user_service", "serve"], env, int(env["GRPC_PORT"]), log_path)
    try:
        for index in range(4 * int(env.get("GRPC_PROCESSES", "1"))):
            options = [("grpc.use_local_subchannel_pool", 1), ("bench.probe", index)]
            with grpc.insecure_channel(served.target, options=options) as channel:
                served.wait_ready(functools.partial(_serving, health_pb2_grpc.HealthStub(channel)))
    except BaseException:
        served.stop()
        raise
    return served


def _serving(health: health_pb2_grpc.HealthStub) -> None:
    if health.Check(health_pb2.HealthCheckRequest(), timeout=2).status != SERVING:
        raise NotReady()


def start_echo(port: int, threads: int, processes: int, log_path: Path) -> Served:
    args = [
        "-m",
        "tools.bench.echo_server",
        f"--port={port}",
        f"--threads={threads}",
        f"--processes={processes}",
    ]
    served = Served("the echo server", args, clean_env(), port, log_path)
    try:
        with grpc.insecure_channel(served.target) as channel:
            echo = bytes_method(channel, ECHO_METHOD)
            served.wait_ready(lambda: echo(b"", timeout=2))
    except BaseException:
        served.stop()
        raise
    return served
