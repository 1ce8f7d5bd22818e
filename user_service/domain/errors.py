"""Errors that handlers raise; the server turns each into one gRPC status.

    UserServiceError                 INTERNAL unless a subclass says otherwise (never UNKNOWN)
    ├── InvalidArgument              INVALID_ARGUMENT + BadRequest field violations
    ├── Unauthenticated              UNAUTHENTICATED
    │   └── SessionEnded             TOKEN_REVOKED
    ├── PermissionDenied             PERMISSION_DENIED
    ├── NotFound                     NOT_FOUND
    ├── AlreadyExists                ALREADY_EXISTS
    │   └── EmailAlreadyRegistered   EMAIL_ALREADY_REGISTERED
    ├── FailedPrecondition           FAILED_PRECONDITION
    ├── Aborted                      ABORTED (a conflict: retrying the same call may succeed)
    ├── DeadlineExceeded             DEADLINE_EXCEEDED
    ├── ResourceExhausted            RESOURCE_EXHAUSTED + RetryInfo
    └── Unavailable                  UNAVAILABLE (+ RetryInfo when it knows when to retry)

Storage adds its own subclasses (storage/errors.py) for what the database says: a lost
connection, a timeout, a conflict between transactions, a full pool, a number too large.

`code` names the google.rpc.Code, so that this module needs nothing from gRPC. Messages
are for the caller: they never hold a password, token, hash or internal detail.
`retry_after_seconds`, when set, goes out as a google.rpc.RetryInfo.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar


class UserServiceError(Exception):
    code: ClassVar[str] = "INTERNAL"

    def __init__(
        self,
        reason: str,
        message: str,
        metadata: Mapping[str, str] | None = None,
        *,
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.metadata = dict(metadata or {})
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str
    reason: str


class InvalidArgument(UserServiceError):
    code = "INVALID_ARGUMENT"

    def __init__(self, *violations: FieldViolation) -> None:
        if not violations:
            raise ValueError("InvalidArgument needs at least one field violation")
        super().__init__(violations[0].reason, "; ".join(f"{v.field}: {v.description}" for v in violations))
        self.violations = violations


class Unauthenticated(UserServiceError):
    code = "UNAUTHENTICATED"


class SessionEnded(Unauthenticated):
    """The token is sound, but its session or its user is gone (logged out, revoked, deleted)."""

    def __init__(self) -> None:
        super().__init__("TOKEN_REVOKED", "the session of this access token has ended")


class PermissionDenied(UserServiceError):
    code = "PERMISSION_DENIED"


class NotFound(UserServiceError):
    code = "NOT_FOUND"


class AlreadyExists(UserServiceError):
    code = "ALREADY_EXISTS"


class EmailAlreadyRegistered(AlreadyExists):
    def __init__(self) -> None:
        super().__init__("EMAIL_ALREADY_REGISTERED", "this email address is already registered")


class FailedPrecondition(UserServiceError):
    code = "FAILED_PRECONDITION"


class Aborted(UserServiceError):
    code = "ABORTED"


class DeadlineExceeded(UserServiceError):
    code = "DEADLINE_EXCEEDED"


class ResourceExhausted(UserServiceError):
    code = "RESOURCE_EXHAUSTED"

    def __init__(
        self, reason: str, message: str, retry_after_seconds: float, metadata: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(reason, message, metadata, retry_after_seconds=retry_after_seconds)


class Unavailable(UserServiceError):
    code = "UNAVAILABLE"
