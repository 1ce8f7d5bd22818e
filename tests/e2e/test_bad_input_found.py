"""Bugs the bad-input tests (tests/faults/test_bad_input.py) found, each pinned by the
request that found it."""

from __future__ import annotations

import grpc
import pytest

from tests.support.auth_client import Caller
from tests.support.identities import make_identity
from tests.support.network import raw_method
from tests.support.statuses import status_details


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/userservice.v1.UserAuth/Login", b"\xff\xff\xff"),  # not protobuf at all
        ("/userservice.v1.UserAuth/Register", b"\x0a\x02\xff\xfe"),  # email: bytes that are not UTF-8
        ("/userservice.v1.Balance/Deposit", b"\x10\xff\xff"),  # amount: a varint cut short
        ("/userservice.v1.UserAuth/GetMe", b"\x0f"),  # a wire type that does not exist
    ],
    ids=["garbage", "bad-utf8", "truncated", "bad-wire-type"],
)
def test_bytes_that_are_not_the_request_are_invalid_argument_not_internal(service, engine, path, payload):
    """gRPC answered INTERNAL ("Exception deserializing request!", no details)."""
    caller = make_identity(engine)

    with pytest.raises(grpc.RpcError) as refused:
        raw_method(service.channel, path)(payload, metadata=caller.metadata, timeout=10)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = status_details(refused.value)
    assert (details["ErrorInfo"].reason, details["ErrorInfo"].domain) == ("MALFORMED_REQUEST", "userservice")
    assert [v.field for v in details["BadRequest"].field_violations] == ["request"]


def test_a_login_with_nul_in_the_email_fails_like_an_unknown_email(service):
    """The malformed address went to the database, which refuses NUL: INTERNAL."""
    client = Caller(service.channel)

    assert client.refused("Login", email="alice\x00@example.com", password="correct horse battery") == (
        grpc.StatusCode.UNAUTHENTICATED,
        "INVALID_CREDENTIALS",
    )
