"""Limits of the server process: a burst beyond GRPC_MAX_CONCURRENT_RPCS is refused at once
instead of queueing without bound, and several processes may share the port (SO_REUSEPORT)."""

from __future__ import annotations

import time

import grpc
import pytest

from tests.support.network import SERVING, free_port, raw_method, wait_for_health
from tests.support.server_process import ServerProcess, start_service


def test_a_burst_beyond_the_concurrency_limit_is_refused_at_once(env, tmp_path):
    port = free_port()
    limited = {**env, "GRPC_PORT": str(port), "GRPC_MAX_CONCURRENT_RPCS": "2"}
    with ServerProcess(["-m", "tests.support.slow_server"], limited, port, tmp_path / "server.log") as server:
        wait_for_health(server.channel, SERVING)
        sleep = raw_method(server.channel, "/test.Slow/Sleep")
        in_flight = [sleep.future(b"3", timeout=30) for _ in range(2)]
        deadline = time.monotonic() + 10
        while server.output().count("sleep started") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        started = time.monotonic()

        with pytest.raises(grpc.RpcError) as refused:
            sleep(b"0", timeout=10)

        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert time.monotonic() - started < 2
        assert [call.result() for call in in_flight] == [b"slept 3.0 s"] * 2


def test_two_server_processes_share_one_port(env, tmp_path):
    port = free_port()
    with (
        start_service(env, port, tmp_path / "first.log") as first,
        start_service(env, port, tmp_path / "second.log") as second,
    ):
        for server in (first, second):
            server.wait_for_output("serving gRPC on port")
        wait_for_health(first.channel, SERVING)
        assert first.process.poll() is None, first.output()
        assert second.process.poll() is None, second.output()
