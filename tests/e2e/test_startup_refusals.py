"""Start-up stops with one clear message, and the exit code says why."""

from __future__ import annotations

import socket

import pytest

from tests.support.server_process import run_cli, service_env


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"JWT_SECRET": "only-twenty-one-bytes"}, "JWT_SECRET must be at least 32 bytes long"),
        ({"GRPC_PORT": "grpc"}, "GRPC_PORT must be a whole number, got 'grpc'"),
        ({"EMAIL_BACKEND": "carrier-pigeon"}, "EMAIL_BACKEND must be one of console, smtp, ses"),
    ],
)
def test_invalid_configuration_stops_serve_with_its_message(settings, message, tmp_path):
    refused = run_cli(["serve"], service_env(DATA_DIR=str(tmp_path), **settings))

    assert refused.returncode == 2
    assert refused.stderr.startswith("user-service: invalid configuration:\n")
    assert message in refused.stderr
    assert "only-twenty-one-bytes" not in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_taken_port_stops_serve(env):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))  # noqa: S104  (as wide as the server would bind)
        taken.listen()
        port = taken.getsockname()[1]

        refused = run_cli(["serve"], {**env, "GRPC_PORT": str(port)})

    assert refused.returncode == 1
    assert f"cannot listen on port {port}" in refused.stderr
    assert "Traceback" not in refused.stderr
