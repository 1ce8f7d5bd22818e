"""The echo ceiling: a bare sync gRPC server, a process of its own, that answers every call
of ECHO_METHOD with the bytes it was sent. `python -m tools.bench.echo_server --port P
--threads T --processes N`.

As the service serves: grpc.server on a ThreadPoolExecutor of the service's worker count,
the service's server options and concurrency limit, port opened with SO_REUSEPORT; N > 1
starts N such processes on the same port. Nothing else: no interceptors, no protobuf, no
logging, no database.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc

from user_service.config import Settings
from user_service.server.options import SERVER_OPTIONS

ECHO_METHOD = "/bench.Echo/Echo"


def _echo(request: bytes, _context: grpc.ServicerContext) -> bytes:
    return request


class EchoHandler(grpc.GenericRpcHandler):
    def __init__(self) -> None:
        self._handler: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_unary_rpc_method_handler(_echo)

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Any:
        return self._handler if handler_call_details.method == ECHO_METHOD else None


def serve(port: int, threads: int) -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    server = grpc.server(
        ThreadPoolExecutor(max_workers=threads),
        handlers=[EchoHandler()],
        options=[*SERVER_OPTIONS, ("grpc.so_reuseport", 1)],
        maximum_concurrent_rpcs=Settings().grpc_max_concurrent_rpcs,
    )
    if server.add_insecure_port(f"[::]:{port}") == 0:
        sys.exit(f"echo server: cannot listen on port {port}")
    server.start()
    stop.wait()
    server.stop(1).wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    if args.processes == 1:
        serve(args.port, args.threads)
        return 0
    # Processes of their own (not forks: gRPC must not be forked once started), sharing the port.
    command = [
        sys.executable,
        "-m",
        "tools.bench.echo_server",
        f"--port={args.port}",
        f"--threads={args.threads}",
    ]
    workers = [subprocess.Popen(command) for _ in range(args.processes)]

    def forward(signum: int, _frame: object) -> None:
        for worker in workers:
            worker.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return max(worker.wait() for worker in workers)


if __name__ == "__main__":
    sys.exit(main())
