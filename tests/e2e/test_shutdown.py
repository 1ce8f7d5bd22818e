"""SIGTERM and SIGINT: health NOT_SERVING at once (and never SERVING again), new calls
refused, the call in flight completes, exit code 0."""

from __future__ import annotations

import queue
import signal
import socket
import threading
import time
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.network import NOT_SERVING, SERVING, free_port, raw_method, wait_for_health
from tests.support.server_process import TEST_JWT_SECRET, ServerProcess, service_env
from tests.support.statuses import status_details


def follow(watch: Iterator[health_pb2.HealthCheckResponse], statuses: queue.Queue[int]) -> None:
    """Put each status the Watch stream sends; it ends when the test cancels it."""
    try:
        for response in watch:
            statuses.put(response.status)
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.CANCELLED:
            raise


def drain(statuses: queue.Queue[int]) -> list[int]:
    found = []
    while not statuses.empty():
        found.append(statuses.get_nowait())
    return found


def slow_server(database_url: str, tmp_path, **settings: str) -> ServerProcess:
    """The service with test.Slow/Sleep (tests/support/slow_server.py), 20 s of grace."""
    port = free_port()
    env = service_env(
        DATABASE_URL=database_url,
        JWT_SECRET=TEST_JWT_SECRET,
        GRPC_PORT=str(port),
        SHUTDOWN_GRACE_SECONDS="20",
        **settings,
    )
    return ServerProcess(["-m", "tests.support.slow_server"], env, port, tmp_path / "server.log")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_drains_the_server(service_database_url, tmp_path, signum):
    # The database check runs often: it must not turn health back to SERVING.
    with slow_server(service_database_url, tmp_path, HEALTH_CHECK_INTERVAL_SECONDS="0.05") as server:
        wait_for_health(server.channel, SERVING)
        statuses: queue.Queue[int] = queue.Queue()
        watch = health_pb2_grpc.HealthStub(server.channel).Watch(health_pb2.HealthCheckRequest(service=""))
        threading.Thread(target=follow, args=(watch, statuses), daemon=True).start()
        assert statuses.get(timeout=10) == SERVING
        in_flight = raw_method(server.channel, "/test.Slow/Sleep").future(b"2.0", timeout=30)
        server.wait_for_output("sleep started")

        server.signal(signum)

        assert statuses.get(timeout=5) == NOT_SERVING
        server.wait_for_output("refusing new calls")
        with (
            grpc.insecure_channel(f"127.0.0.1:{server.port}") as fresh,
            pytest.raises(grpc.RpcError) as refused,
        ):
            raw_method(fresh, "/test.Slow/Sleep")(b"0", timeout=5)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert in_flight.result() == b"slept 2.0 s"
        assert SERVING not in drain(statuses)
        watch.cancel()
        assert server.wait(within=30) == 0, server.output()
        assert f"{signal.Signals(signum).name} received: shutting down" in server.output()


def test_the_drain_never_waits_on_a_database_that_does_not_answer(tmp_path):
    """The health thread may be stuck in a check for seconds; new calls are refused at once
    all the same, and the process is gone well inside Kubernetes' grace period."""
    with socket.socket() as black_hole:  # accepts connections, never answers
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(64)
        port = free_port()
        env = service_env(
            DATABASE_URL=f"postgresql://postgres@127.0.0.1:{black_hole.getsockname()[1]}/postgres",
            JWT_SECRET=TEST_JWT_SECRET,
            GRPC_PORT=str(port),
            SHUTDOWN_GRACE_SECONDS="20",
            HEALTH_CHECK_INTERVAL_SECONDS="0.1",
        )
        with ServerProcess(["-m", "tests.support.slow_server"], env, port, tmp_path / "server.log") as server:
            server.wait_for_output("serving gRPC on port")
            assert raw_method(server.channel, "/test.Slow/Sleep")(b"0", timeout=5) == b"slept 0.0 s"
            time.sleep(0.5)  # the health check now waits on the silent database (5 s connect timeout)
            signalled = time.monotonic()

            server.signal()
            time.sleep(1.0)

            with grpc.insecure_channel(f"127.0.0.1:{port}") as fresh, pytest.raises(grpc.RpcError) as refused:
                raw_method(fresh, "/test.Slow/Sleep")(b"0", timeout=5)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
            assert server.wait(within=30) == 0, server.output()
            assert time.monotonic() - signalled < 10


def test_the_calls_refused_after_the_signal_say_shutting_down(service_database_url, tmp_path):
    """Calls that keep coming on a connected channel after SIGTERM are refused by the
    application (UNAVAILABLE with SHUTTING_DOWN, which clients retry elsewhere), not by gRPC
    stopping under them (CANCELLED, or UNAVAILABLE with nothing to say)."""
    with slow_server(service_database_url, tmp_path) as server:
        wait_for_health(server.channel, SERVING)
        sleep = raw_method(server.channel, "/test.Slow/Sleep")
        assert sleep(b"0", timeout=5) == b"slept 0.0 s"

        server.signal()
        refused: list[grpc.RpcError] = []
        until = time.monotonic() + 10
        while len(refused) < 3 and time.monotonic() < until:  # back to back: the drain never goes quiet
            try:
                sleep(b"0", timeout=5)
            except grpc.RpcError as error:
                refused.append(error)

        assert [(error.code(), status_details(error)["ErrorInfo"].reason) for error in refused] == [
            (grpc.StatusCode.UNAVAILABLE, "SHUTTING_DOWN")
        ] * 3
        assert server.wait(within=30) == 0, server.output()
