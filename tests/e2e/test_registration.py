"""Register, the verification email as it arrives over SMTP, VerifyEmail, and what Login
says before and after."""

from __future__ import annotations

import grpc
import pytest
from sqlalchemy import text

from tests.support.auth_client import PASSWORD, Caller, new_email
from tests.support.statuses import status_details

VERIFY_SUBJECT = "Verify your email address"


def test_register_verify_by_the_emailed_link_then_log_in(service, smtp):
    client = Caller(service.channel)
    email = new_email()

    user = client.call("Register", email=email.upper(), password=PASSWORD, full_name="  Ada Lovelace ").user

    assert (user.email, user.full_name, user.email_verified, user.is_active) == (
        email,
        "Ada Lovelace",
        False,
        True,
    )
    assert list(user.roles) == [1]  # ROLE_USER
    assert client.refused("Login", email=email, password=PASSWORD) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "EMAIL_NOT_VERIFIED",
    )

    message = smtp.wait_for(email, VERIFY_SUBJECT)
    assert "https://accounts.example.test/verify/" in message.text
    assert "Hello Ada Lovelace," in message.text
    verified = client.call("VerifyEmail", token=message.link_token()).user

    assert verified.email_verified
    assert client.login(email).user.id == user.id
    assert client.call("GetMe").user.email == email


def test_a_verification_token_works_once(service, smtp):
    client = Caller(service.channel)
    email = new_email()
    client.call("Register", email=email, password=PASSWORD)
    token = smtp.wait_for(email, VERIFY_SUBJECT).link_token()
    client.call("VerifyEmail", token=token)

    assert client.refused("VerifyEmail", token=token) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_TOKEN")
    assert client.refused("VerifyEmail", token="made-up") == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_TOKEN",
    )


def test_an_expired_verification_token_is_refused(service, smtp, engine):
    client = Caller(service.channel)
    email = new_email()
    client.call("Register", email=email, password=PASSWORD)
    token = smtp.wait_for(email, VERIFY_SUBJECT).link_token()
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE single_use_tokens"
                " SET expire_time = now() - interval '1 second', create_time = now() - interval '1 day'"
                " WHERE user_id = (SELECT id FROM users WHERE email = :email)"
            ),
            {"email": email},
        )

    assert client.refused("VerifyEmail", token=token) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_TOKEN")


def test_resending_verification_answers_alike_for_known_and_unknown_addresses(service, smtp):
    client = Caller(service.channel)
    email = new_email()
    client.call("Register", email=email, password=PASSWORD)
    smtp.wait_for(email, VERIFY_SUBJECT)

    known = client.call("ResendVerificationEmail", email=email)
    unknown = client.call("ResendVerificationEmail", email=new_email())

    assert known == unknown
    second = smtp.wait_for(email, VERIFY_SUBJECT, count=2)
    assert client.call("VerifyEmail", token=second.link_token()).user.email_verified


def test_a_taken_email_is_already_exists(service):
    client = Caller(service.channel)
    email = new_email()
    client.call("Register", email=email, password=PASSWORD)

    assert client.refused("Register", email=f"  {email.upper()} ", password=PASSWORD + "!") == (
        grpc.StatusCode.ALREADY_EXISTS,
        "EMAIL_ALREADY_REGISTERED",
    )


@pytest.mark.parametrize(
    ("fields", "violations"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, [("email", "INVALID_EMAIL")]),
        ({"email": "{email}", "password": "short"}, [("password", "WEAK_PASSWORD")]),
        ({"email": "{email}", "password": "x" * 73}, [("password", "WEAK_PASSWORD")]),
        ({"email": "{email}", "password": "password123"}, [("password", "WEAK_PASSWORD")]),
        (
            {"email": "{email}", "password": PASSWORD, "full_name": "n" * 201},
            [("full_name", "INVALID_FULL_NAME")],
        ),
        (
            {"email": "nope", "password": "1234", "full_name": "bad\x00name"},
            [("email", "INVALID_EMAIL"), ("full_name", "INVALID_FULL_NAME"), ("password", "WEAK_PASSWORD")],
        ),
    ],
    ids=["email", "short", "over-72-bytes", "common", "long-name", "everything-at-once"],
)
def test_bad_registrations_list_every_bad_field_and_create_nothing(service, engine, fields, violations):
    email = new_email()
    fields = {key: value.replace("{email}", email) for key, value in fields.items()}

    with pytest.raises(grpc.RpcError) as refused:
        Caller(service.channel).call("Register", **fields)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    found = status_details(refused.value)["BadRequest"].field_violations
    assert sorted((violation.field, violation.reason) for violation in found) == sorted(violations)
    with engine.connect() as connection:
        assert (
            connection.execute(text("SELECT count(*) FROM users WHERE email = :e"), {"e": email}).scalar()
            == 0
        )


def test_registration_writes_user_account_outbox_and_audit_together(service, engine):
    email = new_email()
    user = Caller(service.channel).call("Register", email=email, password=PASSWORD).user

    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT u.roles, u.email_verified, a.available, a.held,"
                " (SELECT count(*) FROM audit_events e"
                "  WHERE e.subject_user_id = u.id AND e.action = 'user.register')"
                " AS audits"
                " FROM users u JOIN accounts a ON a.user_id = u.id WHERE u.id = :id"
            ),
            {"id": user.id},
        ).one()
    assert (row.roles, row.email_verified, row.available, row.held, row.audits) == (["user"], False, 0, 0, 1)
