"""Who may do what: the one permission table, for UserAuth and Balance alike.

Each action names the roles that may take it on anyone, and whether a caller may take it
on itself whatever its roles (a `user` reads and changes its own profile and moves its
own money). Everything else is PERMISSION_DENIED.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from user_service.domain.errors import PermissionDenied
from user_service.domain.model import Principal, Role


class Action(StrEnum):
    READ_USER = "read a user"
    UPDATE_USER = "change a user"
    DELETE_USER = "delete a user"
    LIST_USERS = "list users"
    SET_USER_ROLES = "set a user's roles"
    READ_BALANCE = "read a balance"
    MOVE_MONEY = "move money"


@dataclass(frozen=True)
class Rule:
    on_anyone: frozenset[Role]
    on_self: bool


def _rule(*on_anyone: Role, on_self: bool) -> Rule:
    return Rule(frozenset(on_anyone), on_self)


USER, AGENT, SERVICE, ADMIN = Role.USER, Role.AGENT, Role.SERVICE, Role.ADMIN

PERMISSIONS: dict[Action, Rule] = {
    Action.READ_USER: _rule(AGENT, SERVICE, ADMIN, on_self=True),
    Action.UPDATE_USER: _rule(ADMIN, on_self=True),
    Action.DELETE_USER: _rule(ADMIN, on_self=True),
    Action.LIST_USERS: _rule(AGENT, ADMIN, on_self=False),
    Action.SET_USER_ROLES: _rule(ADMIN, on_self=False),
    Action.READ_BALANCE: _rule(AGENT, SERVICE, ADMIN, on_self=True),
    Action.MOVE_MONEY: _rule(SERVICE, ADMIN, on_self=True),
}


def allowed(principal: Principal, action: Action, owner: uuid.UUID | None = None) -> bool:
    """Whether the caller may take `action` on what `owner` owns (None: on no one in particular)."""
    rule = PERMISSIONS[action]
    if not rule.on_anyone.isdisjoint(principal.roles):
        return True
    return rule.on_self and owner is not None and owner == principal.user_id


def require(principal: Principal, action: Action, owner: uuid.UUID | None = None) -> None:
    """PERMISSION_DENIED unless `allowed`."""
    if not allowed(principal, action, owner):
        raise PermissionDenied("PERMISSION_DENIED", f"the caller may not {action.value}")
