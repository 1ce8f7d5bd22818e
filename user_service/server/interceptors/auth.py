"""Bearer tokens: `authorization: Bearer <token>` metadata turned into the call's Principal.

What a token proves is the authenticator's business (signature, expiry, claims, and
revocation once sessions exist); servicers ask `current_principal()`. A call without the
header runs anonymously; a malformed header or a bad token is UNAUTHENTICATED.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import grpc

from user_service.domain.errors import Unauthenticated
from user_service.domain.model import Principal
from user_service.server.interceptors.call import Behavior, CallInterceptor, metadata_value

_principal: ContextVar[Principal | None] = ContextVar("principal", default=None)


def current_principal() -> Principal | None:
    """Who is calling, or None for an anonymous call."""
    return _principal.get()


class AuthInterceptor(CallInterceptor):
    def __init__(self, authenticate: Callable[[str], Principal]) -> None:
        self._authenticate = authenticate

    def around(self, behavior: Behavior, request: Any, context: grpc.ServicerContext, method: str) -> Any:
        principal = None
        header = metadata_value(context, "authorization")
        if header is not None:
            scheme, _, token = header.strip().partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token:
                raise Unauthenticated(
                    "INVALID_AUTHORIZATION_HEADER",
                    "the authorization metadata must be 'Bearer <access token>'",
                )
            principal = self._authenticate(token)
        reset = _principal.set(principal)
        try:
            return behavior(request, context)
        finally:
            _principal.reset(reset)
