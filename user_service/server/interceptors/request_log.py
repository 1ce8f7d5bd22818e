"""The call's context, its log line and its metrics: a request id taken from `x-request-id`
or made up (sent back in the response's trailing metadata and put in every log line of the
call), the client's address (user_service.caller), the call's deadline for the work done
for it (user_service.deadlines), one log line per call with its status and duration, and
go-grpc-prometheus's counters and latency histogram (user_service.metrics)."""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections.abc import Sequence
from typing import Any

import grpc

from user_service import deadlines, metrics
from user_service.call_log import call_log
from user_service.caller import Network, client_address_var, resolve
from user_service.logs import request_id_var, user_id_var
from user_service.server.interceptors.call import Behavior, CallInterceptor, metadata_value

REQUEST_ID_KEY = "x-request-id"
# What is safe to log and echo; anything else is replaced by a fresh id.
_ACCEPTABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")


class RequestLogInterceptor(CallInterceptor):
    def __init__(self, trusted_proxies: Sequence[Network] = ()) -> None:
        super().__init__()
        self._trusted_proxies = tuple(trusted_proxies)
        self._metrics: dict[str, metrics.CallMetrics] = {}
        # New request ids: this process's random half and a count (unique, and no system
        # call per request as os.urandom would be).
        self._id_prefix = secrets.token_hex(8)
        self._id_numbers = itertools.count()

    def _new_request_id(self) -> str:
        return f"{self._id_prefix}{next(self._id_numbers):016x}"

    def _metrics_of(self, method: str) -> metrics.CallMetrics:
        found = self._metrics.get(method)
        if found is None:
            found = self._metrics[method] = metrics.CallMetrics(method)
        return found

    async def around(
        self, behavior: Behavior, method: str, request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Any:
        request_id = metadata_value(context, REQUEST_ID_KEY)
        if request_id is None or not _ACCEPTABLE_REQUEST_ID.fullmatch(request_id):
            request_id = self._new_request_id()
        # Each call runs as a task of its own on the event loop, and what is set in its
        # context ends with it (the auth interceptor adds the caller's user id).
        request_id_var.set(request_id)
        client_address_var.set(
            resolve(context.peer(), metadata_value(context, "x-forwarded-for"), self._trusted_proxies)
        )
        # Sent back with the status (in the same frame as the answer: initial metadata of
        # its own would cost a write of its own, a fifth of a GetMe).
        context.set_trailing_metadata(((REQUEST_ID_KEY, request_id),))
        measured = self._metrics_of(method)
        measured.started()
        started = time.perf_counter()
        failed = False
        deadlines.begin(context.time_remaining())
        try:
            return await behavior(request, context)
        except BaseException:
            failed = True
            raise
        finally:
            code = context.code()
            name = code.name if code is not None else ("UNKNOWN" if failed else "OK")
            elapsed = time.perf_counter() - started
            elapsed_ms = elapsed * 1000
            measured.handled(name)
            measured.observe(elapsed)
            call_log.call(method, name, elapsed_ms, request_id, user_id_var.get())
