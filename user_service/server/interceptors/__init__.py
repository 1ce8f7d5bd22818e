"""Server interceptors, applied to userservice.v1 calls (health and reflection pass through)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import grpc

from user_service.caller import Network
from user_service.server.access import Policy
from user_service.server.drain import Drain
from user_service.server.interceptors.auth import Authenticator, AuthInterceptor
from user_service.server.interceptors.errors import ErrorInterceptor
from user_service.server.interceptors.request_log import RequestLogInterceptor


def build_interceptors(
    authenticate: Authenticator,
    policies: Mapping[str, Policy],
    unimplemented: Collection[str] = (),
    trusted_proxies: Sequence[Network] = (),
    drain: Drain | None = None,
) -> list[grpc.aio.ServerInterceptor]:
    """Outermost first: the log sees each call's final status; errors (authentication's
    too, and refusals once the drain has begun) become statuses inside it."""
    return [
        RequestLogInterceptor(trusted_proxies),
        ErrorInterceptor(unimplemented, drain),
        AuthInterceptor(authenticate, policies),
    ]
