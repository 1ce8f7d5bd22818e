"""The values handlers return and take: plain, immutable, free of storage and gRPC."""

from __future__ import annotations

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
