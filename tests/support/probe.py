"""test.Probe: a gRPC server with the service's interceptor chain in front of a test service
whose methods do whatever each test asks, so that statuses, details, request ids and
access policies can be checked on a real server without the real servicers.

    Public       policy PUBLIC
    Token        policy TOKEN
    Admin        policy requires(SET_USER_ROLES)
    Unlisted     no policy at all
    Missing      PUBLIC, and reported as not implemented by its servicer

A request's body names the behavior to run (see `behave`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent import futures
from types import TracebackType
from typing import Self

import grpc

from tests.support.network import free_port, raw_method
from user_service.adapters.jwt_tokens import JwtCodec, TokenInvalid
from user_service.domain.errors import Unauthenticated
from user_service.domain.model import Principal, Role
from user_service.domain.permissions import Action
from user_service.server.access import PUBLIC, TOKEN, requires
from user_service.server.drain import Drain
from user_service.server.interceptors import build_interceptors

Behavior = Callable[[grpc.ServicerContext], bytes]

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


def authenticate(token: str) -> Principal:
    """The token's own claims, without sessions: the probe tests the interceptors, not those."""
    try:
        claims = CODEC.decode(token, required=("sid", "roles"))
    except TokenInvalid:
        raise Unauthenticated("INVALID_TOKEN", "the access token is invalid or has expired") from None
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
    def raise_it(_context: grpc.ServicerContext) -> bytes:
        raise error

    return behave(raise_it)


def _call(request: bytes, context: grpc.ServicerContext) -> bytes:
    return _BEHAVIORS[request](context)


class Probe:
    def __init__(self, drain: Drain | None = None) -> None:
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=4),
            interceptors=build_interceptors(
                authenticate, POLICIES, unimplemented={"/test.Probe/Missing"}, drain=drain
            ),
            handlers=[
                grpc.method_handlers_generic_handler(
                    "test.Probe", {name: grpc.unary_unary_rpc_method_handler(_call) for name in METHODS}
                )
            ],
        )
        self.port = self.server.add_insecure_port(f"127.0.0.1:{free_port()}")
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")

    def method(self, name: str) -> grpc.UnaryUnaryMultiCallable[bytes, bytes]:
        return raw_method(self.channel, f"/test.Probe/{name}")

    def __enter__(self) -> Self:
        self.server.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.channel.close()
        self.server.stop(0)
