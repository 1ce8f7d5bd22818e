"""`python -m user_service serve`, plus test.Slow/Sleep, which answers after the number of
seconds it is sent: a call still in flight when SIGTERM arrives. Tests only."""

from __future__ import annotations

import logging
import time

import grpc

from user_service.config import load_settings
from user_service.logs import configure_logging
from user_service.server.access import PUBLIC
from user_service.server.app import serve

log = logging.getLogger("slow_server")


def _sleep(request: bytes, context: grpc.ServicerContext) -> bytes:
    seconds = float(request.decode())
    log.info("sleep started")
    time.sleep(seconds)
    return b"slept %.1f s" % seconds


def main() -> int:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    handler = grpc.method_handlers_generic_handler(
        "test.Slow", {"Sleep": grpc.unary_unary_rpc_method_handler(_sleep)}
    )
    return serve(settings, extra_handlers=[handler], extra_policies={"/test.Slow/Sleep": PUBLIC})


if __name__ == "__main__":
    raise SystemExit(main())
