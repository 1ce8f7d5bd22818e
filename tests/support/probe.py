"""test.Probe: a gRPC server with the service's interceptor chain in front of a test service
whose methods do whatever each test asks, so that statuses, details, request ids and
access policies can be checked on a real server without the real servicers.

    Public       policy PUBLIC
    Token        policy TOKEN
    Admin        policy requires(SET_USER_ROLES)
    Unlisted     no policy at all
    Missing      PUBLIC, and reported as not implemented by its servicer

A request's body names the behavior to run (see `behave`): a function of the call's
context, run in a worker thread, or a coroutine function, awaited on the server's loop.
The server runs on an event loop of its own (tests/support/loop_thread.py).
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

import grpc

from tests.support.loop_thread import LoopThread
from tests.support.network import free_port, raw_method
from user_service.adapters.jwt_tokens import JwtCodec, TokenInvalid
from user_service.domain.errors import Unauthenticated
from user_service.domain.model import Principal, Role
from user_service.domain.permissions import Action
from user_service.server.access import PUBLIC, TOKEN, requires
from user_service.server.drain import Drain
from user_service.server.interceptors import build_interceptors

Behavior = Callable[[grpc.aio.ServicerContext[Any, Any]], bytes | Awaitable[bytes]]

SECRET = "interceptor-test-secret-0123456789abcdef"
CODEC = JwtCodec([SECRET])
METHODS = ("Public", "Token", "Admin", "Unlisted", "Missing")
POLICIES = {
    "/test.Probe/Public": PUBLIC,
    "/test.Probe/Token": TOKEN,
    "/test.Probe/Admin": requires(Action.SET_USER_ROLES),
    "/test.Probe/Missing": PUBLIC,
}

_BEHAVIORS: dict[bytes, Behavior] = {}


class ClaimsOnly:
    """The token's own claims, without sessions: the probe tests the interceptors, not those.
    Tokens it has not seen take a worker thread (as a session lookup would)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def known(self, token: str) -> Principal | None:
        return self(token) if token in self.seen else None

    def __call__(self, token: str) -> Principal:
        try:
            claims = CODEC.decode(token, required=("sid", "roles"))
        except TokenInvalid:
            raise Unauthenticated("INVALID_TOKEN", "the access token is invalid or has expired") from None
        self.seen.add(token)
        roles = frozenset(Role(role) for role in claims["roles"])
        return Principal(uuid.UUID(claims["sub"]), roles, str(claims["sid"]), str(claims["jti"]))


def behave(behavior: Behavior) -> bytes:
    """A request body that makes the probe run `behavior(context)`."""
    key = uuid.uuid4().hex.encode()
    _BEHAVIORS[key] = behavior
    return key


def returning(value: Callable[[], bytes]) -> bytes:
    return behave(lambda _context: value())


def failing(error: BaseException) -> bytes:
    def raise_it(_context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        raise error

    return behave(raise_it)


async def _call(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
    behavior = _BEHAVIORS[request]
    if inspect.iscoroutinefunction(behavior):
        answer: bytes = await behavior(context)
        return answer
    return await asyncio.to_thread(behavior, context)  # type: ignore[arg-type]


class Probe:
    def __init__(self, drain: Drain | None = None) -> None:
        self._drain = drain
        self._loop = LoopThread()
        self.port = free_port()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")

    async def _start(self) -> grpc.aio.Server:
        server = grpc.aio.server(
            interceptors=build_interceptors(
                ClaimsOnly(), POLICIES, unimplemented={"/test.Probe/Missing"}, drain=self._drain
            ),
            handlers=[
                grpc.method_handlers_generic_handler(
                    "test.Probe", {name: grpc.unary_unary_rpc_method_handler(_call) for name in METHODS}
                )
            ],
        )
        server.add_insecure_port(f"127.0.0.1:{self.port}")
        await server.start()
        return server

    def method(self, name: str) -> grpc.UnaryUnaryMultiCallable[bytes, bytes]:
        return raw_method(self.channel, f"/test.Probe/{name}")

    def __enter__(self) -> Self:
        self._loop.__enter__()
        self.server = self._loop.run(self._start())
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.channel.close()
        self._loop.run(self.server.stop(0))
        self._loop.__exit__(exc_type, exc, tb)
