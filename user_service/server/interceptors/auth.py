"""Bearer tokens, by the RPC's policy (server/access.py): `authorization: Bearer <token>`
metadata turned into the call's Principal where the RPC needs one, and ignored where it
does not.

What a token proves is the authenticator's business (signature, expiry, claims,
revocation); servicers ask `current_principal()`. A token the process knows is checked on
the event loop; one that needs Redis or the database is checked in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, Protocol

import grpc

from user_service.domain.errors import PermissionDenied, Unauthenticated
from user_service.domain.model import Principal
from user_service.domain.permissions import require
from user_service.logs import user_id_var
from user_service.server.access import Policy
from user_service.server.interceptors.call import Behavior, CallInterceptor, metadata_value


class Authenticator(Protocol):
    def known(self, token: str) -> Principal | None:
        """The token's caller from what this process knows, with no I/O (raising for a
        token known to be bad); None when it takes asking Redis or the database."""

    def __call__(self, token: str) -> Principal:
        """The token's caller, asking Redis or the database as needed (blocking)."""


_principal: ContextVar[Principal | None] = ContextVar("principal", default=None)


def current_principal() -> Principal | None:
    """Who is calling, or None for a public RPC."""
    return _principal.get()


def caller() -> Principal:
    """Who is calling, in an RPC whose policy needs a token (never None there)."""
    principal = _principal.get()
    if principal is None:
        raise Unauthenticated("MISSING_TOKEN", "this call needs an access token")
    return principal


def bearer_token(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    header = metadata_value(context, "authorization")
    if header is None:
        raise Unauthenticated("MISSING_TOKEN", "this call needs 'authorization: Bearer <access token>'")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated(
            "INVALID_AUTHORIZATION_HEADER", "the authorization metadata must be 'Bearer <access token>'"
        )
    return token


class AuthInterceptor(CallInterceptor):
    def __init__(self, authenticate: Authenticator, policies: Mapping[str, Policy]) -> None:
        super().__init__()
        self._authenticate = authenticate
        self._policies = policies

    async def around(
        self, behavior: Behavior, method: str, request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Any:
        policy = self._policies.get(method)
        if policy is None:
            raise PermissionDenied("NO_ACCESS_POLICY", f"{method} has no access policy")
        principal = None
        if policy.token:
            token = bearer_token(context)
            principal = self._authenticate.known(token)
            if principal is None:
                principal = await asyncio.to_thread(self._authenticate, token)
            if policy.action is not None:
                require(principal, policy.action)
        # The call's task's own context (server/interceptors/request_log.py): no reset needed.
        _principal.set(principal)
        if principal is not None:
            user_id_var.set(principal.user_text)  # for the call's log lines
        return await behavior(request, context)
