"""Who may call which RPC: one table, read by the auth interceptor before any servicer runs.

    PUBLIC       no token needed; an authorization header is ignored, so that a client
                 holding an expired token can still log in, refresh or reset a password
    TOKEN        a valid access token; the handler then decides with the permission
                 table (domain/permissions.py) whether the caller may act on its target
    requires(a)  a valid access token whose roles allow action `a` on anyone

An RPC missing from the table is refused (fail closed); a test checks that every RPC of
the contract is in it.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.descriptor import ServiceDescriptor

from user_service.domain.permissions import Action
from userservice.v1 import balance_pb2, user_auth_pb2


@dataclass(frozen=True)
class Policy:
    token: bool
    action: Action | None = None


PUBLIC = Policy(token=False)
TOKEN = Policy(token=True)


def requires(action: Action) -> Policy:
    return Policy(token=True, action=action)


def _paths(service: ServiceDescriptor, policies: dict[str, Policy]) -> dict[str, Policy]:
    """{"/package.Service/Method": policy}; a name the service does not have is a KeyError."""
    return {f"/{service.full_name}/{service.methods_by_name[name].name}": p for name, p in policies.items()}


USER_AUTH = user_auth_pb2.DESCRIPTOR.services_by_name["UserAuth"]
BALANCE = balance_pb2.DESCRIPTOR.services_by_name["Balance"]

RPC_POLICIES: dict[str, Policy] = {
    **_paths(
        USER_AUTH,
        {
            "Register": PUBLIC,
            "Login": PUBLIC,
            "RefreshToken": PUBLIC,
            "VerifyEmail": PUBLIC,
            "ResendVerificationEmail": PUBLIC,
            "ForgotPassword": PUBLIC,
            "ResetPassword": PUBLIC,
            "Logout": TOKEN,
            "GetMe": TOKEN,
            "ChangePassword": TOKEN,
            "GetUser": TOKEN,
            "UpdateUser": TOKEN,
            "DeleteUser": TOKEN,
            "ListUsers": requires(Action.LIST_USERS),
            "SetUserRoles": requires(Action.SET_USER_ROLES),
        },
    ),
    **_paths(
        BALANCE,
        dict.fromkeys(
            (
                "GetBalance",
                "ListTransactions",
                "Deposit",
                "Withdraw",
                "Transfer",
                "ReserveFunds",
                "CaptureHold",
                "ReleaseHold",
            ),
            TOKEN,
        ),
    ),
}
