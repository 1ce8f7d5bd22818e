"""The interceptor chain on a real gRPC server: statuses with google.rpc details, request
ids, bearer tokens. A test service (test.Probe) raises what each test asks for."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from sqlalchemy import text

from tests.support.network import free_port, raw_method
from tests.support.statuses import status_details
from user_service.adapters.jwt_tokens import JwtCodec
from user_service.domain.authentication import TokenAuthenticator
from user_service.domain.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    ResourceExhausted,
)
from user_service.logs import request_id_var
from user_service.server.interceptors import build_interceptors
from user_service.server.interceptors.auth import current_principal
from user_service.storage.database import make_engine

SECRET = "interceptor-test-secret-0123456789abcdef"
CODEC = JwtCodec([SECRET])

# What test.Probe/Call does, by request body.
BEHAVIORS: dict[bytes, Callable[[], bytes]] = {}


def _call(request: bytes, context: grpc.ServicerContext) -> bytes:
    return BEHAVIORS[request]()


@pytest.fixture(scope="module")
def probe() -> Iterator[Callable[..., Any]]:
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        interceptors=build_interceptors(TokenAuthenticator(CODEC)),
        handlers=[
            grpc.method_handlers_generic_handler(
                "test.Probe", {"Call": grpc.unary_unary_rpc_method_handler(_call)}
            )
        ],
    )
    port = server.add_insecure_port(f"127.0.0.1:{free_port()}")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield raw_method(channel, "/test.Probe/Call")
    channel.close()
    server.stop(0)


def behave(function: Callable[[], bytes]) -> bytes:
    key = uuid.uuid4().hex.encode()
    BEHAVIORS[key] = function
    return key


def fail(error: Exception) -> bytes:
    def raise_it() -> bytes:
        raise error

    return behave(raise_it)


def test_domain_errors_keep_code_reason_and_metadata(probe):
    request = fail(
        FailedPrecondition("INSUFFICIENT_FUNDS", "not enough money", {"available": "5", "requested": "10"})
    )

    with pytest.raises(grpc.RpcError) as failed:
        probe(request)

    assert failed.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert failed.value.details() == "not enough money"
    info = status_details(failed.value)["ErrorInfo"]
    assert (info.reason, info.domain, dict(info.metadata)) == (
        "INSUFFICIENT_FUNDS",
        "userservice",
        {"available": "5", "requested": "10"},
    )


def test_invalid_arguments_list_every_field_violation(probe):
    request = fail(
        InvalidArgument(
            FieldViolation("amount", "must be > 0", "INVALID_AMOUNT"),
            FieldViolation("request_id", "is required", "MISSING_REQUEST_ID"),
        )
    )

    with pytest.raises(grpc.RpcError) as failed:
        probe(request)

    assert failed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    found = status_details(failed.value)
    assert found["ErrorInfo"].reason == "INVALID_AMOUNT"
    assert [(v.field, v.description, v.reason) for v in found["BadRequest"].field_violations] == [
        ("amount", "must be > 0", "INVALID_AMOUNT"),
        ("request_id", "is required", "MISSING_REQUEST_ID"),
    ]


def test_resource_exhausted_says_when_to_retry(probe):
    with pytest.raises(grpc.RpcError) as failed:
        probe(fail(ResourceExhausted("TOO_MANY_ATTEMPTS", "slow down", retry_after_seconds=90.5)))

    assert failed.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    delay = status_details(failed.value)["RetryInfo"].retry_delay
    assert (delay.seconds, delay.nanos) == (90, 500_000_000)


def test_a_bug_is_internal_without_internals_and_logged_with_its_traceback(probe, caplog):
    request = fail(RuntimeError("connection string postgresql://app:hunter2@db"))

    with caplog.at_level(logging.ERROR), pytest.raises(grpc.RpcError) as failed:
        probe(request)

    assert failed.value.code() == grpc.StatusCode.INTERNAL
    assert failed.value.details() == "internal error"
    assert status_details(failed.value)["ErrorInfo"].reason == "INTERNAL"
    assert "hunter2" not in str(failed.value.trailing_metadata())
    logged = [r for r in caplog.records if r.getMessage() == "unexpected error in /test.Probe/Call"]
    assert logged
    assert logged[0].exc_info is not None


def test_an_unimplemented_rpc_is_unimplemented(probe):
    with pytest.raises(grpc.RpcError) as failed:
        probe(fail(NotImplementedError()))

    assert failed.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert status_details(failed.value)["ErrorInfo"].reason == "NOT_IMPLEMENTED"


def test_an_unreachable_database_is_unavailable(probe):
    unreachable = make_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/postgres", pool_size=1)

    def query() -> bytes:
        with unreachable.connect() as connection:
            connection.execute(text("SELECT 1"))
        return b""

    with pytest.raises(grpc.RpcError) as failed:
        probe(behave(query))

    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert status_details(failed.value)["ErrorInfo"].reason == "DATABASE_UNAVAILABLE"
    unreachable.dispose()


def current_request_id() -> bytes:
    return (request_id_var.get() or "").encode()


def test_the_callers_request_id_is_used_and_sent_back(probe):
    request = behave(current_request_id)

    answer, call = probe.with_call(request, metadata=[("x-request-id", "order-42:attempt-1")])

    assert answer == b"order-42:attempt-1"
    assert ("x-request-id", "order-42:attempt-1") in call.initial_metadata()


@pytest.mark.parametrize("sent", [None, "has spaces", "x" * 200])
def test_a_missing_or_unusable_request_id_is_replaced_by_a_new_one(probe, sent):
    request = behave(current_request_id)

    answer, call = probe.with_call(request, metadata=[("x-request-id", sent)] if sent else [])

    assert re.fullmatch(rb"[0-9a-f]{32}", answer)
    assert ("x-request-id", answer.decode()) in call.initial_metadata()


def test_each_call_is_logged_with_method_and_code(probe, caplog):
    with caplog.at_level(logging.INFO, logger="user_service.requests"):
        probe(behave(lambda: b""))
        with pytest.raises(grpc.RpcError):
            probe(fail(FailedPrecondition("HOLD_NOT_ACTIVE", "gone")))

    codes = [r.grpc_code for r in caplog.records if r.name == "user_service.requests"]
    assert codes == ["OK", "FAILED_PRECONDITION"]


def whoami() -> bytes:
    principal = current_principal()
    return str(principal.user_id).encode() if principal else b"anonymous"


def test_calls_without_a_token_are_anonymous(probe):
    assert probe(behave(whoami)) == b"anonymous"


def test_a_bearer_token_makes_the_caller_known(probe):
    user_id = uuid.uuid4()
    token = CODEC.encode({"sub": str(user_id), "roles": ["user"], "sid": "s", "jti": "j"}, 60)

    assert probe(behave(whoami), metadata=[("authorization", f"Bearer {token}")]) == str(user_id).encode()


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Basic dXNlcjpwYXNz", "INVALID_AUTHORIZATION_HEADER"),
        ("Bearer", "INVALID_AUTHORIZATION_HEADER"),
        ("Bearer not-a-jwt", "INVALID_TOKEN"),
        (
            "Bearer "
            + JwtCodec(["another-secret-0123456789abcdefghijkl"]).encode(
                {"sub": str(uuid.uuid4()), "roles": ["admin"], "sid": "s", "jti": "j"}, 60
            ),
            "INVALID_TOKEN",
        ),
    ],
    ids=["basic", "bearer-without-token", "garbage", "foreign-signature"],
)
def test_bad_authorization_is_unauthenticated(probe, header, reason):
    with pytest.raises(grpc.RpcError) as failed:
        probe(behave(whoami), metadata=[("authorization", header)])

    assert failed.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert status_details(failed.value)["ErrorInfo"].reason == reason
