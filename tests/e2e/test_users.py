"""GetUser, UpdateUser, DeleteUser, ListUsers and SetUserRoles: who may do what, and what
each does."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2
from sqlalchemy import text

from tests.support.auth_client import PASSWORD, Caller, new_email
from tests.support.identities import Identity, make_identity

OK = grpc.StatusCode.OK
DENIED = grpc.StatusCode.PERMISSION_DENIED
ROLE_USER, ROLE_AGENT, ROLE_SERVICE, ROLE_ADMIN = 1, 2, 3, 4


def as_(service, identity: Identity) -> Caller:
    return Caller(service.channel, token=identity.token)


def outcome(client: Caller, rpc: str, **fields) -> grpc.StatusCode:
    try:
        client.call(rpc, **fields)
    except grpc.RpcError as error:
        return error.code()
    return OK


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


# What each role may do to another user (a user may always do the first three to itself).
MATRIX = {
    "user": {
        "GetUser": DENIED,
        "UpdateUser": DENIED,
        "DeleteUser": DENIED,
        "ListUsers": DENIED,
        "SetUserRoles": DENIED,
    },
    "agent": {
        "GetUser": OK,
        "UpdateUser": DENIED,
        "DeleteUser": DENIED,
        "ListUsers": OK,
        "SetUserRoles": DENIED,
    },
    "service": {
        "GetUser": OK,
        "UpdateUser": DENIED,
        "DeleteUser": DENIED,
        "ListUsers": DENIED,
        "SetUserRoles": DENIED,
    },
    "admin": {"GetUser": OK, "UpdateUser": OK, "DeleteUser": OK, "ListUsers": OK, "SetUserRoles": OK},
}


@pytest.mark.parametrize("role", list(MATRIX))
def test_what_each_role_may_do_to_another_user(service, engine, role):
    client = as_(service, make_identity(engine, role))
    target = make_identity(engine)
    calls: dict[str, dict[str, Any]] = {
        "GetUser": {"user_id": str(target.user_id)},
        "UpdateUser": {
            "user_id": str(target.user_id),
            "full_name": "Renamed",
            "update_mask": mask("full_name"),
        },
        "ListUsers": {},
        "SetUserRoles": {"user_id": str(target.user_id), "roles": [ROLE_USER, ROLE_AGENT]},
        "DeleteUser": {"user_id": str(target.user_id)},
    }

    def stored() -> tuple[str, list[str], bool]:
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT full_name, roles, delete_time IS NOT NULL FROM users WHERE id = :id"),
                {"id": target.user_id},
            ).one()
        return row[0], row[1], row[2]

    seen = {rpc: outcome(client, rpc, **fields) for rpc, fields in calls.items() if rpc != "DeleteUser"}
    name, roles, _ = stored()
    seen["DeleteUser"] = outcome(client, "DeleteUser", **calls["DeleteUser"])
    _, _, deleted = stored()

    assert seen == MATRIX[role]
    assert (name == "Renamed") == (MATRIX[role]["UpdateUser"] == OK)
    assert (roles == ["agent", "user"]) == (MATRIX[role]["SetUserRoles"] == OK)
    assert deleted == (MATRIX[role]["DeleteUser"] == OK)


def test_a_user_reads_and_changes_itself(service, engine):
    me = make_identity(engine)
    client = as_(service, me)

    assert client.call("GetUser", user_id=str(me.user_id)).user.email == me.email
    changed = client.call(
        "UpdateUser", user_id=str(me.user_id), full_name=" New Name ", update_mask=mask("full_name")
    )
    assert changed.user.full_name == "New Name"
    assert client.call("GetMe").user.full_name == "New Name"


def test_a_user_learns_nothing_about_others_not_even_whether_they_exist(service, engine):
    client = as_(service, make_identity(engine))

    assert client.refused("GetUser", user_id=str(uuid.uuid4()))[0] == DENIED
    assert client.refused("GetUser", user_id=str(make_identity(engine).user_id))[0] == DENIED
    admin = as_(service, make_identity(engine, "admin"))
    assert admin.refused("GetUser", user_id=str(uuid.uuid4())) == (
        grpc.StatusCode.NOT_FOUND,
        "USER_NOT_FOUND",
    )
    assert admin.refused("GetUser", user_id="not-a-uuid") == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_USER_ID",
    )


def test_a_new_email_must_be_verified_again(service, engine, smtp):
    me = make_identity(engine)
    client = as_(service, me)
    new = new_email("moved")

    user = client.call(
        "UpdateUser", user_id=str(me.user_id), email=new.upper(), update_mask=mask("email")
    ).user

    assert (user.email, user.email_verified) == (new, False)
    token = smtp.wait_for(new, "Verify your email address").link_token()
    assert client.call("VerifyEmail", token=token).user.email_verified
    assert Caller(service.channel).login(new).user.id == str(me.user_id)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"update_mask": mask()}, "INVALID_UPDATE_MASK"),
        ({"update_mask": mask("roles")}, "INVALID_UPDATE_MASK"),
        ({"update_mask": mask("email"), "email": "nope"}, "INVALID_EMAIL"),
        ({"update_mask": mask("full_name"), "full_name": "x" * 201}, "INVALID_FULL_NAME"),
    ],
    ids=["empty-mask", "unknown-path", "bad-email", "long-name"],
)
def test_bad_updates_are_invalid_and_change_nothing(service, engine, fields, reason):
    me = make_identity(engine)

    assert as_(service, me).refused("UpdateUser", user_id=str(me.user_id), **fields) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        reason,
    )
    assert as_(service, me).call("GetMe").user.email == me.email


def test_an_email_someone_else_has_is_already_exists(service, engine):
    me, other = make_identity(engine), make_identity(engine)

    assert as_(service, me).refused(
        "UpdateUser", user_id=str(me.user_id), email=other.email, update_mask=mask("email")
    ) == (grpc.StatusCode.ALREADY_EXISTS, "EMAIL_ALREADY_REGISTERED")


def put_money(engine, identity: Identity, available: int, held: int = 0, spent: int = 0) -> None:
    """Money as the ledger would have it: the balance and the rows that explain it (a deposit
    of everything, and a withdrawal of what was `spent`)."""
    with engine.begin() as connection:
        account = connection.execute(
            text("UPDATE accounts SET available = :a, held = :h WHERE user_id = :u RETURNING id"),
            {"a": available, "h": held, "u": identity.user_id},
        ).scalar_one()
        rows = [("deposit", available + held + spent, available + held + spent)]
        if spent:
            rows.append(("withdrawal", -spent, available + held))
        for kind, amount, after in rows:
            connection.execute(
                text(
                    "INSERT INTO ledger_transactions (account_id, type, amount, balance_after, request_id,"
                    " request_fingerprint) VALUES (:a, :kind, :amount, :after, :r, 'test')"
                ),
                {"a": account, "kind": kind, "amount": amount, "after": after, "r": uuid.uuid4().hex},
            )


@pytest.mark.parametrize(
    ("available", "held", "reason"),
    [(500, 0, "BALANCE_NOT_ZERO"), (0, 500, "FUNDS_HELD")],
    ids=["money", "held"],
)
def test_a_user_with_money_cannot_be_deleted(service, engine, available, held, reason):
    me = make_identity(engine)
    put_money(engine, me, available, held)

    assert as_(service, me).refused("DeleteUser", user_id=str(me.user_id)) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        reason,
    )
    assert as_(service, me).call("GetMe").user.is_active


def test_deleting_a_user_removes_its_personal_data_and_keeps_its_ledger(service, engine):
    me = make_identity(engine)
    client = as_(service, me)
    client.refused("Login", email=me.email, password="a wrong password")  # an audit row with its address
    put_money(engine, me, 0, spent=250)

    client.call("DeleteUser", user_id=str(me.user_id))

    with engine.connect() as connection:
        user = connection.execute(
            text("SELECT email, password_hash, full_name, is_active, delete_time FROM users WHERE id = :id"),
            {"id": me.user_id},
        ).one()
        addresses = (
            connection.execute(
                text(
                    "SELECT client_address FROM audit_events WHERE subject_user_id = :id"
                    " AND (actor_user_id = :id OR actor_user_id IS NULL)"
                ),
                {"id": me.user_id},
            )
            .scalars()
            .all()
        )
        ledger = connection.execute(
            text(
                "SELECT count(*) FROM ledger_transactions t JOIN accounts a ON a.id = t.account_id"
                " WHERE a.user_id = :id"
            ),
            {"id": me.user_id},
        ).scalar()
        closed = connection.execute(
            text("SELECT close_time IS NOT NULL FROM accounts WHERE user_id = :id"), {"id": me.user_id}
        ).scalar()
    assert (user.email, user.password_hash, user.full_name, user.is_active) == (None, None, "", False)
    assert user.delete_time is not None
    assert addresses
    assert set(addresses) == {None}
    assert (ledger, closed) == (2, True)
    assert client.refused("GetMe") == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_REVOKED")
    assert (
        Caller(service.channel).refused("Login", email=me.email, password=PASSWORD)[1]
        == "INVALID_CREDENTIALS"
    )
    admin = as_(service, make_identity(engine, "admin"))
    assert admin.refused("GetUser", user_id=str(me.user_id))[1] == "USER_NOT_FOUND"


def test_roles_change_for_tokens_already_issued(service, engine):
    admin = as_(service, make_identity(engine, "admin"))
    target = make_identity(engine)
    assert as_(service, target).refused("ListUsers")[0] == DENIED

    admin.call("SetUserRoles", user_id=str(target.user_id), roles=[ROLE_AGENT, ROLE_USER])

    assert list(as_(service, target).call("GetMe").user.roles) == [ROLE_USER, ROLE_AGENT]
    as_(service, target).call("ListUsers", page_size=1)


def test_an_admin_cannot_remove_its_own_admin_role(service, engine):
    me = make_identity(engine, "admin")

    assert as_(service, me).refused("SetUserRoles", user_id=str(me.user_id), roles=[ROLE_USER]) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CANNOT_REMOVE_OWN_ADMIN",
    )


@pytest.mark.parametrize("roles", [[], [0], [ROLE_USER, 99]], ids=["none", "unspecified", "unknown"])
def test_bad_role_lists_are_invalid(service, engine, roles):
    admin = as_(service, make_identity(engine, "admin"))

    assert admin.refused("SetUserRoles", user_id=str(make_identity(engine).user_id), roles=roles) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ROLE",
    )


def register_many(service, prefix: str, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        ids.append(
            Caller(service.channel).call("Register", email=new_email(prefix), password=PASSWORD).user.id
        )
    return ids


def test_paging_while_others_register_shows_each_existing_user_exactly_once(service, engine):
    prefix = f"page-{uuid.uuid4().hex[:8]}"
    existing = set(register_many(service, prefix, 23))
    agent = as_(service, make_identity(engine, "agent"))
    newcomers: list[str] = []
    registering = threading.Thread(target=lambda: newcomers.extend(register_many(service, prefix, 15)))

    seen: list[str] = []
    token = ""
    registering.start()
    while True:
        page = agent.call("ListUsers", page_size=4, page_token=token, filter=f'email = "{prefix}*"')
        seen += [user.id for user in page.users]
        token = page.next_page_token
        if not token:
            break
    registering.join()

    assert len(seen) == len(set(seen))  # nobody twice
    assert existing <= set(seen)  # everybody who was there
    assert set(seen) <= existing | set(newcomers)


def test_list_filters(service, engine):
    prefix = f"filter-{uuid.uuid4().hex[:8]}"
    plain = register_many(service, prefix, 2)
    admin_identity = make_identity(engine, "admin")
    admin = as_(service, admin_identity)
    admin.call("SetUserRoles", user_id=plain[0], roles=[ROLE_SERVICE])

    services = admin.call("ListUsers", filter=f'email = "{prefix}*" AND role = ROLE_SERVICE').users
    everyone = admin.call("ListUsers", filter=f'email = "{prefix}*" AND email_verified = false').users

    assert [user.id for user in services] == [plain[0]]
    assert sorted(user.id for user in everyone) == sorted(plain)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"filter": "role = KING"}, "INVALID_FILTER"),
        ({"filter": "password = 'x'"}, "INVALID_FILTER"),
        ({"page_token": "not-a-token"}, "INVALID_PAGE_TOKEN"),
        ({"page_size": -1}, "INVALID_PAGE_SIZE"),
    ],
    ids=["bad-role", "unknown-field", "bad-token", "negative-size"],
)
def test_bad_list_requests_are_invalid(service, engine, fields, reason):
    assert as_(service, make_identity(engine, "agent")).refused("ListUsers", **fields) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        reason,
    )


def test_a_page_token_of_another_filter_is_refused(service, engine):
    agent = as_(service, make_identity(engine, "agent"))
    token = agent.call("ListUsers", page_size=1).next_page_token

    assert token
    assert agent.refused("ListUsers", page_size=1, page_token=token, filter="is_active = true") == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PAGE_TOKEN",
    )
