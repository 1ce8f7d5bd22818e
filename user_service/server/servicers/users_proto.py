"""Users and roles between the domain and userservice.v1."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from user_service.domain.errors import FieldViolation, InvalidArgument
from user_service.domain.model import Role, User
from user_service.server.servicers.fields import timestamp
from userservice.v1 import user_pb2

_TO_PROTO = {role: cast("user_pb2.Role", user_pb2.Role.Value(f"ROLE_{role.name}")) for role in Role}
_FROM_PROTO: dict[int, Role] = {int(number): role for role, number in _TO_PROTO.items()}


def user_message(user: User) -> user_pb2.User:
    return user_pb2.User(
        id=str(user.id),
        email=user.email,
        full_name=user.full_name,
        is_active=user.is_active,
        email_verified=user.email_verified,
        roles=sorted(_TO_PROTO[role] for role in user.roles),
        create_time=timestamp(user.create_time),
        update_time=timestamp(user.update_time),
    )


def roles_from(numbers: Iterable[int]) -> list[Role]:
    """Proto roles -> domain roles; INVALID_ARGUMENT (INVALID_ROLE) for UNSPECIFIED or unknown."""
    roles = []
    for number in numbers:
        if number not in _FROM_PROTO:
            raise InvalidArgument(FieldViolation("roles", f"{number} is not a role", "INVALID_ROLE"))
        roles.append(_FROM_PROTO[number])
    return roles
