"""The permission table: what each role may do on anyone, and what anyone may do on itself."""

from __future__ import annotations

import uuid

import pytest

from user_service.domain.errors import PermissionDenied
from user_service.domain.model import Principal, Role
from user_service.domain.permissions import PERMISSIONS, Action, allowed, require

ME = uuid.uuid4()
SOMEONE_ELSE = uuid.uuid4()


def principal(*roles: Role) -> Principal:
    return Principal(user_id=ME, roles=frozenset(roles), session_id="s", token_id="t")


# Who may take each action on someone else (DESIGN.md's "who may do what").
ON_OTHERS = {
    Action.READ_USER: {Role.AGENT, Role.SERVICE, Role.ADMIN},
    Action.UPDATE_USER: {Role.ADMIN},
    Action.DELETE_USER: {Role.ADMIN},
    Action.LIST_USERS: {Role.AGENT, Role.ADMIN},
    Action.SET_USER_ROLES: {Role.ADMIN},
    Action.READ_BALANCE: {Role.AGENT, Role.SERVICE, Role.ADMIN},
    Action.MOVE_MONEY: {Role.SERVICE, Role.ADMIN},
}
ON_SELF = {Action.READ_USER, Action.UPDATE_USER, Action.DELETE_USER, Action.READ_BALANCE, Action.MOVE_MONEY}


def test_the_table_covers_every_action():
    assert set(PERMISSIONS) == set(Action) == set(ON_OTHERS)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", list(Role))
def test_each_role_on_someone_else(action, role):
    assert allowed(principal(role), action, SOMEONE_ELSE) == (role in ON_OTHERS[action])


@pytest.mark.parametrize("action", list(Action))
def test_a_plain_user_on_itself(action):
    assert allowed(principal(Role.USER), action, ME) == (action in ON_SELF)


def test_require_refuses_with_permission_denied():
    with pytest.raises(PermissionDenied):
        require(principal(Role.USER), Action.MOVE_MONEY, SOMEONE_ELSE)
    require(principal(Role.SERVICE), Action.MOVE_MONEY, SOMEONE_ELSE)


def test_roles_add_up():
    assert allowed(principal(Role.USER, Role.AGENT), Action.READ_USER, SOMEONE_ELSE)
    assert not allowed(principal(Role.USER, Role.AGENT), Action.MOVE_MONEY, SOMEONE_ELSE)
