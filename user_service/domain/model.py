"""The values handlers return and take: plain, immutable, free of storage and gRPC."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    """What a caller may do; stored by value, sent as userservice.v1.Role."""

    USER = "user"
    AGENT = "agent"
    SERVICE = "service"
    ADMIN = "admin"


class EmailKind(StrEnum):
    """Which email a user is owed; stored by value in the outbox."""

    VERIFICATION = "email_verification"
    PASSWORD_RESET = "password_reset"  # noqa: S105  (a kind of email, not a password)


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    full_name: str
    is_active: bool
    email_verified: bool
    roles: tuple[Role, ...]
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True)
class Principal:
    """The caller, as its access token says."""

    user_id: uuid.UUID
    roles: frozenset[Role]
    session_id: str
    token_id: str

    @functools.cached_property
    def user_text(self) -> str:
        """The user id as text (for log lines: made once per caller, not per call)."""
        return str(self.user_id)


@dataclass(frozen=True)
class Credentials:
    """A user and what its password must match (None once deleted)."""

    user: User
    password_hash: str | None


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User


@dataclass(frozen=True)
class UserFilter:
    """What ListUsers' filter asks for; None: any."""

    email: str | None = None
    email_prefix: str | None = None
    role: Role | None = None
    is_active: bool | None = None
    email_verified: bool | None = None


@dataclass(frozen=True)
class UserPage:
    users: tuple[User, ...]
    next_page_token: str
