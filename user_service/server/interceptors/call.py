"""The base of our interceptors: they wrap each call's behavior, so that their code runs
in the call's own task on the event loop, with the call's context.

A method's wrapped handler is built once and kept: intercept_service runs for every call,
so it must do no more than a lookup. (What the wrapper does depends on the method only;
each call's own data comes from its context.)

A behavior that is not a coroutine function (a generated base class's stub, a test's
handler) runs in a worker thread, so that nothing blocks the event loop.
"""

from __future__ import annotations

import abc
import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

import grpc

Behavior = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]
Deserializer = Callable[[bytes], Any]
Continuation: TypeAlias = (
    "Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]]"
)

# The standard services keep their handlers untouched: health's Watch streams, and probes
# need neither logs nor tokens.
PASSTHROUGH_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")


def on_the_loop(behavior: Callable[..., Any]) -> Behavior:
    """`behavior` as a coroutine function: itself, or a call of it in a worker thread."""
    if inspect.iscoroutinefunction(behavior):
        return behavior

    async def in_a_thread(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        return await asyncio.to_thread(behavior, request, context)

    return in_a_thread


class CallInterceptor(grpc.aio.ServerInterceptor, abc.ABC):
    def __init__(self) -> None:
        self._built: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        method: str = handler_call_details.method
        handler = self._built.get(method)
        if handler is None:
            handler = self._wrap(await continuation(handler_call_details), method)
            if handler is not None:  # unknown methods are not kept: their names are the caller's
                self._built[method] = handler
        return handler

    def _wrap(
        self, handler: grpc.RpcMethodHandler[Any, Any] | None, method: str
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        if handler is None or method.startswith(PASSTHROUGH_PREFIXES):
            return handler
        if handler.unary_unary is None:
            # The contract has unary RPCs only; a streaming one would pass unchecked by the
            # interceptors, so it is not served at all.
            return None
        behavior, around = on_the_loop(handler.unary_unary), self.around

        async def wrapped(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            return await around(behavior, method, request, context)

        return grpc.unary_unary_rpc_method_handler(
            wrapped,
            request_deserializer=self.request_deserializer(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )

    def request_deserializer(self, deserializer: Deserializer | None) -> Deserializer | None:
        """The deserializer the wrapped handler uses: the inner one, unless overridden."""
        return deserializer

    @abc.abstractmethod
    async def around(
        self, behavior: Behavior, method: str, request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Any:
        """Run `await behavior(request, context)` with something before and after it."""


def metadata_value(context: grpc.aio.ServicerContext[Any, Any], key: str) -> str | None:
    """The first value the caller sent under `key` (lower-case), if any."""
    for name, value in context.invocation_metadata() or ():
        if name == key:
            return value if isinstance(value, str) else None
    return None
