"""The request log: one line per call, with its method, status code, duration, request id
and caller, logged as `user_service.requests` at INFO.

Through the logging module a line cost about 120 000 instructions, a seventh of GetMe's
work, so once configure_logging has set up the server's output, the interceptor writes its
lines straight into it, formatted here in the same shape (JSON or text) as every other
line. Every value in a line is known to need no escaping: the method is one the server
registered, the code a status name, the request id matched the interceptor's character set,
the user id a UUID. Until then (a library user, a test), lines go through logging as records.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

LOGGER_NAME = "user_service.requests"

log = logging.getLogger(LOGGER_NAME)


class CallLog:
    def __init__(self) -> None:
        self._write: Callable[[bytes], None] | None = None
        self._json = True
        self._pid = os.getpid()
        self._second = -1
        self._second_text = ""

    def write_to(self, write: Callable[[bytes], None] | None, *, json: bool = True) -> None:
        """Write lines with `write` (None: through logging), when INFO is on for the log."""
        self._write = write if write is not None and log.isEnabledFor(logging.INFO) else None
        self._json = json
        self._pid = os.getpid()

    def call(self, method: str, code: str, duration_ms: float, request_id: str, user_id: str | None) -> None:
        write = self._write
        if write is None:
            log.info(
                "%s %s %.1f ms",
                method,
                code,
                duration_ms,
                extra={"grpc_method": method, "grpc_code": code, "duration_ms": round(duration_ms, 2)},
            )
            return
        now = time.time()
        if self._json:
            user = f', "user_id": "{user_id}"' if user_id else ""
            line = (
                f'{{"time": "{self._iso_time(now)}", "level": "INFO", "logger": "{LOGGER_NAME}",'
                f' "message": "{method} {code} {duration_ms:.1f} ms", "pid": {self._pid},'
                f' "request_id": "{request_id}"{user}, "grpc_method": "{method}",'
                f' "grpc_code": "{code}", "duration_ms": {round(duration_ms, 2)}}}\n'
            )
        else:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
            line = (
                f"{stamp},{int((now % 1) * 1000):03d} INFO    {LOGGER_NAME}"
                f" [{request_id}] {method} {code} {duration_ms:.1f} ms\n"
            )
        write(line.encode())

    def _iso_time(self, created: float) -> str:
        """As the JSON formatter writes it: ISO 8601 with milliseconds, UTC."""
        second = int(created)
        if second != self._second:
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._second_text}.{int((created - second) * 1000):03d}+00:00"


call_log = CallLog()
