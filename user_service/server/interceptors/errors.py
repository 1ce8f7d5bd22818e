"""The one place where errors become gRPC statuses, with google.rpc details.

Domain errors (storage's among them: an unreachable database is UNAVAILABLE, a timeout
DEADLINE_EXCEEDED, a conflict ABORTED) keep their code and reason; an RPC the servicer
does not have is UNIMPLEMENTED; request bytes that do not parse as the RPC's request
message are INVALID_ARGUMENT (MALFORMED_REQUEST), where gRPC alone would answer INTERNAL;
anything else is a bug: INTERNAL, logged with its traceback, and told to the caller
without internals. Never UNKNOWN.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import DecodeError, Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from user_service.domain.errors import FieldViolation, InvalidArgument, UserServiceError
from user_service.server.drain import Drain
from user_service.server.interceptors.call import Behavior, CallInterceptor, Deserializer

ERROR_DOMAIN = "userservice"

log = logging.getLogger(__name__)


def status_for(error: UserServiceError) -> status_pb2.Status:
    details: list[Message] = [
        error_details_pb2.ErrorInfo(reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata)
    ]
    if isinstance(error, InvalidArgument):
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description, reason=v.reason
                    )
                    for v in error.violations
                ]
            )
        )
    if error.retry_after_seconds is not None:
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(error.retry_after_seconds * 1e9))
        details.append(error_details_pb2.RetryInfo(retry_delay=delay))
    return _status(code_pb2.Code.Value(error.code), error.message, details)


def _status(code: int, message: str, details: Sequence[Message]) -> status_pb2.Status:
    packed = []
    for detail in details:
        wrapper = any_pb2.Any()
        wrapper.Pack(detail)
        packed.append(wrapper)
    return status_pb2.Status(code=code, message=message, details=packed)


def _reason_only(code: int, reason: str, message: str) -> status_pb2.Status:
    return _status(code, message, [error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN)])


def _fail(context: grpc.aio.ServicerContext[Any, Any], status: grpc.Status) -> None:
    """End the call with `status` once the interceptors are done with it (so that the log
    line and the metrics are written before the caller hears the answer), keeping the
    trailing metadata already set (the request id)."""
    context.set_code(status.code)
    context.set_details(status.details)
    context.set_trailing_metadata((*(context.trailing_metadata() or ()), *status.trailing_metadata))


class _Malformed:
    """Stands in for a request whose bytes did not parse."""


MALFORMED = _Malformed()


def _tolerant(deserializer: Deserializer) -> Deserializer:
    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except DecodeError:
            return MALFORMED

    return deserialize


class ErrorInterceptor(CallInterceptor):
    """`unimplemented`: the RPCs (full method paths) that fall through to the generated
    base class, whose NotImplementedError means exactly that. `drain`: once it has begun,
    calls are refused UNAVAILABLE before anything else is done for them."""

    def __init__(self, unimplemented: Collection[str] = (), drain: Drain | None = None) -> None:
        super().__init__()
        self._unimplemented = frozenset(unimplemented)
        self._drain = drain

    def request_deserializer(self, deserializer: Deserializer | None) -> Deserializer | None:
        return _tolerant(deserializer) if deserializer is not None else None

    async def around(
        self, behavior: Behavior, method: str, request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Any:
        try:
            if self._drain is not None:
                self._drain.refuse_if_started()
            if request is MALFORMED:
                raise InvalidArgument(
                    FieldViolation(
                        "request", "is not the RPC's request message in protobuf", "MALFORMED_REQUEST"
                    )
                )
            return await behavior(request, context)
        except UserServiceError as error:
            if error.code == "UNAVAILABLE":
                log.warning("%s unavailable: %s", method, error.reason)
            status = status_for(error)
        except NotImplementedError:
            if method not in self._unimplemented:
                log.exception("unexpected error in %s", method)
                status = _reason_only(code_pb2.INTERNAL, "INTERNAL", "internal error")
            else:
                status = _reason_only(
                    code_pb2.UNIMPLEMENTED, "NOT_IMPLEMENTED", f"{method} is not implemented yet"
                )
        except Exception:
            if context.code() not in (None, grpc.StatusCode.OK):
                raise  # the call was already aborted with a status of its own
            log.exception("unexpected error in %s", method)
            status = _reason_only(code_pb2.INTERNAL, "INTERNAL", "internal error")
        _fail(context, rpc_status.to_status(status))
        return None
