"""ForgotPassword and ResetPassword driven by the email received over SMTP, and
ChangePassword."""

from __future__ import annotations

import time
import uuid

import grpc
import jwt
import pytest
from google.protobuf import field_mask_pb2

from tests.support.auth_client import NEW_PASSWORD, PASSWORD, Caller, new_email
from tests.support.identities import make_identity
from tests.support.server_process import TEST_JWT_SECRET
from user_service.adapters.jwt_tokens import key_id

RESET_SUBJECT = "Reset your password"


@pytest.fixture
def identity(engine):
    return make_identity(engine)


def reset_token(service, smtp, email: str, count: int = 1) -> str:
    Caller(service.channel).call("ForgotPassword", email=email)
    return smtp.wait_for(email, RESET_SUBJECT, count=count).link_token()


def test_a_forgotten_password_is_reset_by_the_emailed_link(service, smtp, identity):
    message_token = reset_token(service, smtp, identity.email)
    message = smtp.wait_for(identity.email, RESET_SUBJECT)
    assert f"https://accounts.example.test/reset-password?token={message_token}" in message.text

    Caller(service.channel).call("ResetPassword", token=message_token, new_password=NEW_PASSWORD)

    assert Caller(service.channel).login(identity.email, NEW_PASSWORD).user.id == str(identity.user_id)
    assert Caller(service.channel).refused("Login", email=identity.email, password=PASSWORD)[1] == (
        "INVALID_CREDENTIALS"
    )
    # Every session ended.
    assert Caller(service.channel, token=identity.token).refused("GetMe")[1] == "TOKEN_REVOKED"


def test_a_reset_token_works_once(service, smtp, identity):
    token = reset_token(service, smtp, identity.email)
    Caller(service.channel).call("ResetPassword", token=token, new_password=NEW_PASSWORD)

    assert Caller(service.channel).refused(
        "ResetPassword", token=token, new_password="another good passphrase"
    ) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_TOKEN",
    )


def test_a_weak_new_password_changes_nothing_and_keeps_the_token_good(service, smtp, identity):
    token = reset_token(service, smtp, identity.email)

    assert Caller(service.channel).refused("ResetPassword", token=token, new_password="password1") == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "WEAK_PASSWORD",
    )
    assert Caller(service.channel, token=identity.token).call("GetMe").user.id == str(identity.user_id)
    Caller(service.channel).call("ResetPassword", token=token, new_password=NEW_PASSWORD)


def test_resetting_a_password_verifies_the_address_it_was_sent_to(service, smtp, engine):
    unverified = make_identity(engine, verified=False)
    token = reset_token(service, smtp, unverified.email)

    Caller(service.channel).call("ResetPassword", token=token, new_password=NEW_PASSWORD)

    assert Caller(service.channel).login(unverified.email, NEW_PASSWORD).user.email_verified


def test_a_reset_token_stops_working_when_the_email_changes(service, smtp, identity):
    """Otherwise: ask for a reset at an address of one's own, move the account to someone
    else's address, reset, and that address counts as verified without its owner ever
    receiving a thing."""
    token = reset_token(service, smtp, identity.email)
    someone_else = new_email("someone-else")
    me = Caller(service.channel, token=identity.token)
    moved = me.call(
        "UpdateUser",
        user_id=str(identity.user_id),
        email=someone_else,
        update_mask=field_mask_pb2.FieldMask(paths=["email"]),
    ).user
    assert (moved.email, moved.email_verified) == (someone_else, False)

    assert Caller(service.channel).refused("ResetPassword", token=token, new_password=NEW_PASSWORD) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_TOKEN",
    )
    assert not me.call("GetMe").user.email_verified
    # The password is still the old one (EMAIL_NOT_VERIFIED comes only after a right one).
    assert Caller(service.channel).refused("Login", email=someone_else, password=PASSWORD)[1] == (
        "EMAIL_NOT_VERIFIED"
    )


def test_forgot_password_answers_alike_for_known_and_unknown_addresses(service, smtp, identity):
    unknown = new_email()

    answers = [
        Caller(service.channel).call("ForgotPassword", email=email) for email in (identity.email, unknown)
    ]

    assert answers[0] == answers[1]
    smtp.wait_for(identity.email, RESET_SUBJECT)
    time.sleep(0.5)
    assert smtp.to(unknown) == []


def reset_claims(identity, **changes: object) -> str:
    now = int(time.time())
    claims = {
        "sub": str(identity.user_id),
        "jti": uuid.uuid4().hex,
        "pwf": "0" * 32,
        "iss": "user-service",
        "aud": "user-service:password-reset",
        "iat": now,
        "exp": now + 600,
        **changes,
    }
    return jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256", headers={"kid": key_id(TEST_JWT_SECRET)})


@pytest.mark.parametrize(
    "make",
    [
        lambda identity: reset_claims(identity, exp=int(time.time()) - 60),
        reset_claims,  # bound to another password hash
        lambda identity: identity.token,  # an access token is not a reset token
        lambda identity: "garbage",
    ],
    ids=["expired", "other-password", "access-token", "garbage"],
)
def test_bad_reset_tokens_are_refused(service, identity, make):
    assert Caller(service.channel).refused(
        "ResetPassword", token=make(identity), new_password=NEW_PASSWORD
    ) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_TOKEN",
    )


def test_changing_the_password_needs_the_current_one_and_ends_the_other_sessions(service, identity):
    here = Caller(service.channel)
    here.login(identity.email)

    assert here.refused("ChangePassword", current_password="not it at all", new_password=NEW_PASSWORD) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "INVALID_CREDENTIALS",
    )
    assert here.refused("ChangePassword", current_password=PASSWORD, new_password="12345678") == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "WEAK_PASSWORD",
    )
    here.call("ChangePassword", current_password=PASSWORD, new_password=NEW_PASSWORD)

    assert here.call("GetMe").user.email == identity.email  # this session goes on
    assert Caller(service.channel, token=identity.token).refused("GetMe")[1] == "TOKEN_REVOKED"
    assert Caller(service.channel).login(identity.email, NEW_PASSWORD).user.id == str(identity.user_id)


def test_changing_the_password_needs_a_token(service):
    assert Caller(service.channel).refused(
        "ChangePassword", current_password=PASSWORD, new_password=NEW_PASSWORD
    ) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "MISSING_TOKEN",
    )
