"""The base of our interceptors: they wrap each call's behavior, so that their code runs
in the worker thread that serves the call (intercept_service runs on gRPC's polling
thread, before the call has a context).

A method's wrapped handler is built once and kept: intercept_service runs on gRPC's one
polling thread for every call, so it must do no more than a lookup. (What the wrapper
does depends on the method only; each call's own data comes from its context.)"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any

import grpc

Behavior = Callable[[Any, grpc.ServicerContext], Any]
Deserializer = Callable[[bytes], Any]

# The standard services keep their handlers untouched: health's Watch depends on attributes
# of its own behavior (experimental_non_blocking), and probes need neither logs nor tokens.
PASSTHROUGH_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")

_FACTORIES = {
    "unary_unary": grpc.unary_unary_rpc_method_handler,
    "unary_stream": grpc.unary_stream_rpc_method_handler,
    "stream_unary": grpc.stream_unary_rpc_method_handler,
    "stream_stream": grpc.stream_stream_rpc_method_handler,
}


class CallInterceptor(grpc.ServerInterceptor, abc.ABC):
    def __init__(self) -> None:
        self._built: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler[Any, Any] | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        method: str = handler_call_details.method
        handler = self._built.get(method)
        if handler is None:
            handler = self._wrap(continuation(handler_call_details), method)
            if handler is not None:  # unknown methods are not kept: their names are the caller's
                self._built[method] = handler
        return handler

    def _wrap(
        self, handler: grpc.RpcMethodHandler[Any, Any] | None, method: str
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        if handler is None or method.startswith(PASSTHROUGH_PREFIXES):
            return handler
        for kind, factory in _FACTORIES.items():
            behavior = getattr(handler, kind)
            if behavior is not None:

                def wrapped(
                    request: Any, context: grpc.ServicerContext, behavior: Behavior = behavior
                ) -> Any:
                    return self.around(behavior, request, context, method)

                return factory(
                    wrapped,
                    request_deserializer=self.request_deserializer(handler.request_deserializer),
                    response_serializer=handler.response_serializer,
                )
        return handler

    def request_deserializer(self, deserializer: Deserializer | None) -> Deserializer | None:
        """The deserializer the wrapped handler uses: the inner one, unless overridden."""
        return deserializer

    @abc.abstractmethod
    def around(self, behavior: Behavior, request: Any, context: grpc.ServicerContext, method: str) -> Any:
        """Run `behavior(request, context)` with something before and after it."""


def metadata_value(context: grpc.ServicerContext, key: str) -> str | None:
    """The first value the caller sent under `key` (lower-case), if any."""
    for name, value in context.invocation_metadata():
        if name == key:
            return value if isinstance(value, str) else None
    return None
