"""`python -m user_service ...` in a process of its own, as Kubernetes would run it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import grpc

from tests.support.network import free_port

# A JWT secret for tests: 32+ bytes, as the service (and PyJWT) require.
TEST_JWT_SECRET = "test-jwt-secret-0123456789abcdefghijklmnopqrstuvwxyz"
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE")


def service_env(**settings: str) -> dict[str, str]:
    """A clean environment: only the settings given (none from the shell running the tests)."""
    env = {key: os.environ[key] for key in _INHERITED if key in os.environ}
    env.update(
        {
            "LOG_FORMAT": "json",
            "BCRYPT_ROUNDS": "4",
            "PYTHONUNBUFFERED": "1",
            # Every server of a test run its own metrics port; reconciliation only when asked.
            "METRICS_PORT": str(free_port()),
            "RECONCILE_INTERVAL_SECONDS": "0",
        }
    )
    env.update(settings)
    return env


def run_cli(args: Sequence[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "user_service", *args],
        env=env,
        check=False,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


class ServerProcess:
    def __init__(self, args: Sequence[str], env: dict[str, str], port: int, log_path: Path) -> None:
        """`env`'s METRICS_PORT is replaced by a free one: each server its own."""
        env = {**env, "METRICS_PORT": str(free_port())}
        self.port = port
        self.metrics_port = int(env["METRICS_PORT"])
        self.log_path = log_path
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, *args], env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")

    def output(self) -> str:
        return self.log_path.read_text()

    def wait_for_output(self, text: str, within: float = 30) -> None:
        deadline = time.monotonic() + within
        while text not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"never logged {text!r}:\n{self.output()}")
            time.sleep(0.05)

    def signal(self, signum: signal.Signals = signal.SIGTERM) -> None:
        self.process.send_signal(signum)

    def wait(self, within: float = 60) -> int:
        return self.process.wait(timeout=within)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.channel.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def start_service(env: dict[str, str], port: int, log_path: Path) -> ServerProcess:
    """`python -m user_service serve` on `port`."""
    return ServerProcess(["-m", "user_service", "serve"], {**env, "GRPC_PORT": str(port)}, port, log_path)
