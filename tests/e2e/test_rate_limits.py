"""Rate limits (3 failures per account and 20 per address in a 3-second window in these
tests): wrong passwords and email requests are refused past the limit, with a RetryInfo,
and let through again once the window has passed; successes are never counted."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from google.protobuf import field_mask_pb2

from tests.support.auth_client import PASSWORD, Caller, new_address, new_email
from tests.support.identities import make_identity
from tests.support.statuses import status_details


def too_many(client: Caller, rpc: str, **fields) -> float:
    """The retry delay of a call refused for too many attempts."""
    with pytest.raises(grpc.RpcError) as refused:
        client.call(rpc, **fields)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    details = status_details(refused.value)
    assert details["ErrorInfo"].reason == "TOO_MANY_ATTEMPTS"
    delay = details["RetryInfo"].retry_delay
    return delay.seconds + delay.nanos / 1e9


def test_wrong_passwords_lock_the_account_for_a_window_then_let_it_back(service, engine):
    identity = make_identity(engine)
    client = Caller(service.channel)
    for _ in range(3):
        assert (
            client.refused("Login", email=identity.email, password="not the password")[1]
            == "INVALID_CREDENTIALS"
        )

    wait = too_many(client, "Login", email=identity.email, password=PASSWORD)  # even the right one
    assert 0 < wait <= 3
    assert (
        too_many(Caller(service.channel), "Login", email=identity.email, password=PASSWORD) > 0
    )  # any address

    time.sleep(wait + 0.2)
    assert client.login(identity.email).user.id == str(identity.user_id)


def test_guesses_sent_all_at_once_get_no_more_password_checks_than_the_limit(service, engine):
    identity = make_identity(engine)
    start = threading.Barrier(10)

    def guess(_: int) -> str:
        client = Caller(service.channel)  # each from an address of its own
        start.wait()
        return client.refused("Login", email=identity.email, password="guessing at once")[1]

    with ThreadPoolExecutor(10) as pool:
        answers = Counter(pool.map(guess, range(10)))

    assert answers["INVALID_CREDENTIALS"] <= 3, answers
    assert answers["INVALID_CREDENTIALS"] + answers["TOO_MANY_ATTEMPTS"] == 10, answers


def test_many_failures_from_one_address_lock_that_address_only(service, engine):
    identity = make_identity(engine)
    address = new_address()
    for _ in range(20):
        Caller(service.channel, address).refused("Login", email=new_email(), password="guessing")

    too_many(Caller(service.channel, address), "Login", email=identity.email, password=PASSWORD)
    assert Caller(service.channel, new_address()).login(identity.email).user.id == str(identity.user_id)


def test_successful_logins_are_never_counted(service, engine):
    identity = make_identity(engine)
    client = Caller(service.channel)

    for _ in range(10):
        client.login(identity.email)


@pytest.mark.parametrize("rpc", ["ForgotPassword", "ResendVerificationEmail"])
def test_email_requests_are_limited_per_address_of_email(service, rpc):
    email = new_email()
    for _ in range(3):
        Caller(service.channel).call(rpc, email=email)

    assert too_many(Caller(service.channel), rpc, email=email) > 0


def test_registrations_are_limited_per_client_address(service):
    client = Caller(service.channel)
    for _ in range(20):
        client.call("Register", email=new_email("burst"), password=PASSWORD)

    assert too_many(client, "Register", email=new_email("burst"), password=PASSWORD) > 0
    Caller(service.channel).call("Register", email=new_email("burst"), password=PASSWORD)


def test_changing_ones_email_again_and_again_is_limited_like_registering(service, engine):
    """Each new email gets a verification email: moving an account from address to address
    must not send mail without limit."""
    identity = make_identity(engine)
    client = Caller(service.channel, token=identity.token)

    for _ in range(20):
        client.call("UpdateUser", **_email_change(identity, new_email("moving")))
    assert 0 < too_many(client, "UpdateUser", **_email_change(identity, new_email("moving"))) <= 3
    # A name alone sends no email and is not limited.
    client.call(
        "UpdateUser",
        user_id=str(identity.user_id),
        full_name="Still Here",
        update_mask=field_mask_pb2.FieldMask(paths=["full_name"]),
    )


def _email_change(identity, email: str) -> dict[str, object]:
    return {
        "user_id": str(identity.user_id),
        "email": email,
        "update_mask": field_mask_pb2.FieldMask(paths=["email"]),
    }


def test_wrong_current_passwords_count_like_failed_logins(service, engine):
    identity = make_identity(engine)
    client = Caller(service.channel, token=identity.token)
    for _ in range(3):
        client.refused(
            "ChangePassword", current_password="wrong one here", new_password="a brand new passphrase"
        )

    too_many(client, "ChangePassword", current_password=PASSWORD, new_password="a brand new passphrase")


@pytest.mark.parametrize(
    ("rpc", "token_field", "more"),
    [
        ("RefreshToken", "refresh_token", {}),
        ("VerifyEmail", "token", {}),
        ("ResetPassword", "token", {"new_password": "a brand new passphrase"}),
    ],
)
def test_guessing_tokens_locks_the_address(service, rpc, token_field, more):
    address = new_address()
    for guess in range(20):
        Caller(service.channel, address).refused(rpc, **{token_field: f"guessed-{guess}"}, **more)

    assert too_many(Caller(service.channel, address), rpc, **{token_field: "guessed-again"}, **more) > 0
    code, _ = Caller(service.channel, new_address()).refused(rpc, **{token_field: "guessed-again"}, **more)
    assert code != grpc.StatusCode.RESOURCE_EXHAUSTED
