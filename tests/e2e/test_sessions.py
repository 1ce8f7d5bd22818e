"""Login, the tokens it returns, refresh-token rotation (and what reuse does), Logout."""

from __future__ import annotations

import grpc
import jwt
import pytest
from sqlalchemy import text

from tests.support.auth_client import PASSWORD, Caller, new_email
from tests.support.identities import make_identity
from tests.support.server_process import TEST_JWT_SECRET
from tests.support.statuses import status_details
from user_service.adapters.jwt_tokens import key_id


@pytest.fixture
def identity(engine):
    return make_identity(engine)


def test_login_returns_a_bearer_access_token_and_an_opaque_refresh_token(service, identity):
    answer = Caller(service.channel).login(identity.email)

    assert (answer.token_type, answer.expires_in, answer.user.id) == ("Bearer", 3600, str(identity.user_id))
    header = jwt.get_unverified_header(answer.access_token)
    assert (header["alg"], header["kid"]) == ("HS256", key_id(TEST_JWT_SECRET))
    claims = jwt.decode(answer.access_token, TEST_JWT_SECRET, algorithms=["HS256"], audience="user-service")
    assert set(claims) == {"sub", "roles", "jti", "sid", "iat", "exp", "iss", "aud"}
    assert (claims["sub"], claims["roles"], claims["iss"]) == (
        str(identity.user_id),
        ["user"],
        "user-service",
    )
    assert claims["exp"] - claims["iat"] == 3600
    assert "." not in answer.refresh_token  # opaque, not a JWT
    assert len(answer.refresh_token) >= 40


def test_an_unknown_email_and_a_wrong_password_answer_alike(service, identity):
    answers = []
    for email, password in ((new_email(), PASSWORD), (identity.email, PASSWORD + "?")):
        with pytest.raises(grpc.RpcError) as refused:
            Caller(service.channel).call("Login", email=email, password=password)
        info = status_details(refused.value)["ErrorInfo"]
        answers.append((refused.value.code(), refused.value.details(), info.reason, dict(info.metadata)))

    assert answers[0] == answers[1]
    assert answers[0][:3] == (
        grpc.StatusCode.UNAUTHENTICATED,
        "the email address or the password is wrong",
        "INVALID_CREDENTIALS",
    )


def test_an_inactive_user_cannot_log_in_and_is_told_nothing_more(service, identity, engine):
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE users SET is_active = false WHERE id = :id"), {"id": identity.user_id}
        )

    assert Caller(service.channel).refused("Login", email=identity.email, password=PASSWORD) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "INVALID_CREDENTIALS",
    )
    assert Caller(service.channel, token=identity.token).refused("GetMe") == (
        grpc.StatusCode.UNAUTHENTICATED,
        "TOKEN_REVOKED",
    )


def test_an_unverified_user_hears_so_only_with_the_right_password(service, engine):
    identity = make_identity(engine, verified=False)
    client = Caller(service.channel)

    assert (
        client.refused("Login", email=identity.email, password="wrong " + PASSWORD)[1]
        == "INVALID_CREDENTIALS"
    )
    assert client.refused("Login", email=identity.email, password=PASSWORD)[1] == "EMAIL_NOT_VERIFIED"


def test_empty_credentials_are_invalid_arguments(service):
    with pytest.raises(grpc.RpcError) as refused:
        Caller(service.channel).call("Login")

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = {v.field for v in status_details(refused.value)["BadRequest"].field_violations}
    assert fields == {"email", "password"}


def test_a_refresh_token_is_rotated_and_works_once(service, identity):
    client = Caller(service.channel)
    first = client.login(identity.email)

    second = client.call("RefreshToken", refresh_token=first.refresh_token)

    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert Caller(service.channel, token=second.access_token).call("GetMe").user.id == str(identity.user_id)
    third = client.call("RefreshToken", refresh_token=second.refresh_token)
    assert third.token_type == "Bearer"


def test_presenting_a_rotated_refresh_token_again_ends_the_whole_session(service, identity):
    client = Caller(service.channel)
    first = client.login(identity.email)
    second = client.call("RefreshToken", refresh_token=first.refresh_token)

    assert client.refused("RefreshToken", refresh_token=first.refresh_token) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "REFRESH_TOKEN_REUSED",
    )
    assert client.refused("RefreshToken", refresh_token=second.refresh_token)[1] == "INVALID_REFRESH_TOKEN"
    for access in (first.access_token, second.access_token):
        assert Caller(service.channel, token=access).refused("GetMe") == (
            grpc.StatusCode.UNAUTHENTICATED,
            "TOKEN_REVOKED",
        )
    # Other sessions of the same user are not touched.
    assert Caller(service.channel, token=identity.token).call("GetMe").user.id == str(identity.user_id)


def test_an_unknown_refresh_token_is_refused(service):
    assert Caller(service.channel).refused("RefreshToken", refresh_token="no-such-token") == (
        grpc.StatusCode.UNAUTHENTICATED,
        "INVALID_REFRESH_TOKEN",
    )


def test_logout_ends_the_session_and_only_it(service, identity):
    client = Caller(service.channel)
    login = client.login(identity.email)

    client.call("Logout")

    assert client.refused("GetMe") == (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_REVOKED")
    assert client.refused("RefreshToken", refresh_token=login.refresh_token)[1] == "INVALID_REFRESH_TOKEN"
    assert Caller(service.channel, token=identity.token).call("GetMe").user.email == identity.email


def test_a_login_is_audited_without_secrets(service, identity, engine):
    client = Caller(service.channel)
    client.refused("Login", email=identity.email, password="wrong password here")
    login = client.login(identity.email)

    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT outcome, client_address, request_id, details::text AS details FROM audit_events"
                " WHERE subject_user_id = :id AND action = 'user.login' ORDER BY id"
            ),
            {"id": identity.user_id},
        ).all()
    assert [(row.outcome, row.client_address) for row in rows] == [
        ("failure", client.address),
        ("success", client.address),
    ]
    assert all(row.request_id for row in rows)
    for row in rows:
        for secret in (PASSWORD, "wrong password here", login.access_token, login.refresh_token):
            assert secret not in row.details
