"""The interceptor chain on a real gRPC server: statuses with google.rpc details, request
ids, access policies and bearer tokens (test.Probe, tests/support/probe.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from tests.support.probe import CODEC, Probe, behave, failing, returning
from tests.support.statuses import status_details
from user_service.adapters.jwt_tokens import JwtCodec
from user_service.domain.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    ResourceExhausted,
    Unavailable,
    UserServiceError,
)
from user_service.logs import request_id_var
from user_service.server.drain import Drain
from user_service.server.interceptors.auth import current_principal


@pytest.fixture(scope="module")
def running_probe() -> Iterator[Probe]:
    with Probe() as running:
        yield running


@pytest.fixture(scope="module")
def probe(running_probe: Probe) -> grpc.UnaryUnaryMultiCallable[bytes, bytes]:
    """The probe's public method."""
    return running_probe.method("Public")


def token_for(
    roles: list[str], *, ttl: int = 60, codec: JwtCodec = CODEC, user_id: uuid.UUID | None = None
) -> str:
    claims = {"sub": str(user_id or uuid.uuid4()), "roles": roles, "sid": "s", "jti": "j"}
    return codec.encode(claims, ttl)


def bearer(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


def test_domain_errors_keep_code_reason_and_metadata(probe):
    request = failing(
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
    request = failing(
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
        probe(failing(ResourceExhausted("TOO_MANY_ATTEMPTS", "slow down", retry_after_seconds=90.5)))

    assert failed.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    delay = status_details(failed.value)["RetryInfo"].retry_delay
    assert (delay.seconds, delay.nanos) == (90, 500_000_000)


def test_any_error_that_knows_when_to_retry_says_so(probe):
    with pytest.raises(grpc.RpcError) as failed:
        probe(failing(Unavailable("DATABASE_BUSY", "busy", retry_after_seconds=1)))

    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert status_details(failed.value)["RetryInfo"].retry_delay.seconds == 1


def test_an_error_class_that_forgets_its_code_is_internal_never_unknown(probe):
    class Forgetful(UserServiceError):
        pass

    with pytest.raises(grpc.RpcError) as failed:
        probe(failing(Forgetful("FORGOT", "a subclass without a code")))

    assert failed.value.code() == grpc.StatusCode.INTERNAL
    assert status_details(failed.value)["ErrorInfo"].reason == "FORGOT"


def test_a_bug_is_internal_without_internals_and_logged_with_its_traceback(probe, caplog):
    request = failing(RuntimeError("connection string postgresql://app:hunter2@db"))

    with caplog.at_level(logging.ERROR), pytest.raises(grpc.RpcError) as failed:
        probe(request)

    assert failed.value.code() == grpc.StatusCode.INTERNAL
    assert failed.value.details() == "internal error"
    assert status_details(failed.value)["ErrorInfo"].reason == "INTERNAL"
    assert "hunter2" not in str(failed.value.trailing_metadata())
    logged = [r for r in caplog.records if r.getMessage() == "unexpected error in /test.Probe/Public"]
    assert logged
    assert logged[0].exc_info is not None


def test_an_rpc_the_servicer_does_not_have_is_unimplemented(running_probe):
    with pytest.raises(grpc.RpcError) as failed:
        running_probe.method("Missing")(failing(NotImplementedError()))

    assert failed.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert status_details(failed.value)["ErrorInfo"].reason == "NOT_IMPLEMENTED"


def test_a_not_implemented_error_inside_a_real_rpc_is_a_bug(probe, caplog):
    with caplog.at_level(logging.ERROR), pytest.raises(grpc.RpcError) as failed:
        probe(failing(NotImplementedError("a library's missing feature")))

    assert failed.value.code() == grpc.StatusCode.INTERNAL
    assert any(r.getMessage() == "unexpected error in /test.Probe/Public" for r in caplog.records)


def test_a_call_aborted_with_its_own_status_keeps_it(probe, caplog):
    async def abort(context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, "aborted by the handler itself")
        raise AssertionError("abort returns only by raising")

    with caplog.at_level(logging.ERROR), pytest.raises(grpc.RpcError) as failed:
        probe(behave(abort))

    assert failed.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert failed.value.details() == "aborted by the handler itself"
    assert not any("unexpected error" in r.getMessage() for r in caplog.records)


def current_request_id() -> bytes:
    return (request_id_var.get() or "").encode()


def test_the_callers_request_id_is_used_and_sent_back(probe):
    answer, call = probe.with_call(
        returning(current_request_id), metadata=[("x-request-id", "order-42:attempt-1")]
    )

    assert answer == b"order-42:attempt-1"
    assert ("x-request-id", "order-42:attempt-1") in call.trailing_metadata()


@pytest.mark.parametrize("sent", [None, "has spaces", "x" * 200])
def test_a_missing_or_unusable_request_id_is_replaced_by_a_new_one(probe, sent):
    answer, call = probe.with_call(
        returning(current_request_id), metadata=[("x-request-id", sent)] if sent else []
    )

    assert re.fullmatch(rb"[0-9a-f]{32}", answer)
    assert ("x-request-id", answer.decode()) in call.trailing_metadata()


def test_each_call_is_logged_with_method_and_code(probe, caplog):
    with caplog.at_level(logging.INFO, logger="user_service.requests"):
        probe(returning(lambda: b""))
        with pytest.raises(grpc.RpcError):
            probe(failing(FailedPrecondition("HOLD_NOT_ACTIVE", "gone")))

    codes = [r.grpc_code for r in caplog.records if r.name == "user_service.requests"]
    assert codes == ["OK", "FAILED_PRECONDITION"]


def test_the_calls_deadline_is_known_to_the_work_done_for_it(probe):
    from user_service import deadlines

    def left() -> bytes:
        return repr(deadlines.remaining()).encode()

    assert probe(returning(left)) == b"None"
    assert 0 < float(probe(returning(left), timeout=5)) < 6  # gRPC rounds the deadline it sends


def whoami() -> bytes:
    principal = current_principal()
    return str(principal.user_id).encode() if principal else b"anonymous"


EXPIRED = token_for(["user"], ttl=-3600)
FOREIGN = token_for(["admin"], codec=JwtCodec(["another-secret-0123456789abcdefghijkl"]))
MALFORMED_HEADERS = [
    "Basic dXNlcjpwYXNz",
    "Bearer",
    "Bearer not-a-jwt",
    f"Bearer {EXPIRED}",
    f"Bearer {FOREIGN}",
]


@pytest.mark.parametrize("header", [None, *MALFORMED_HEADERS])
def test_a_public_rpc_ignores_the_authorization_header(probe, header):
    """A client still holding an expired token must be able to log in again."""
    metadata = [("authorization", header)] if header else []

    assert probe(returning(whoami), metadata=metadata) == b"anonymous"


def test_a_token_rpc_knows_its_caller(running_probe):
    user_id = uuid.uuid4()

    answer = running_probe.method("Token")(
        returning(whoami), metadata=bearer(token_for(["user"], user_id=user_id))
    )

    assert answer == str(user_id).encode()


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "MISSING_TOKEN"),
        ("Basic dXNlcjpwYXNz", "INVALID_AUTHORIZATION_HEADER"),
        ("Bearer", "INVALID_AUTHORIZATION_HEADER"),
        ("Bearer not-a-jwt", "INVALID_TOKEN"),
        (f"Bearer {EXPIRED}", "INVALID_TOKEN"),
        (f"Bearer {FOREIGN}", "INVALID_TOKEN"),
    ],
    ids=["missing", "basic", "bearer-without-token", "garbage", "expired", "foreign-signature"],
)
def test_a_token_rpc_refuses_a_missing_or_bad_token(running_probe, header, reason):
    metadata = [("authorization", header)] if header else []
    with pytest.raises(grpc.RpcError) as failed:
        running_probe.method("Token")(returning(whoami), metadata=metadata)

    assert failed.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert status_details(failed.value)["ErrorInfo"].reason == reason


def test_a_role_rpc_needs_a_role_that_may_take_its_action(running_probe):
    admin_only = running_probe.method("Admin")

    assert admin_only(returning(lambda: b"done"), metadata=bearer(token_for(["admin"]))) == b"done"
    for roles in (["user"], ["agent", "service"]):
        with pytest.raises(grpc.RpcError) as failed:
            admin_only(returning(lambda: b"done"), metadata=bearer(token_for(roles)))
        assert failed.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as failed:
        admin_only(returning(lambda: b"done"))
    assert failed.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_an_rpc_without_a_policy_is_refused(running_probe):
    ran = []

    def run() -> bytes:
        ran.append(1)
        return b""

    with pytest.raises(grpc.RpcError) as failed:
        running_probe.method("Unlisted")(returning(run), metadata=bearer(token_for(["admin"])))

    assert failed.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert status_details(failed.value)["ErrorInfo"].reason == "NO_ACCESS_POLICY"
    assert ran == []


def test_once_the_drain_begins_new_calls_are_refused_while_running_ones_finish():
    """So that gRPC's own shutdown, which follows, finds no call it would cancel."""
    drain = Drain()
    started, release = threading.Event(), threading.Event()

    def slow(_context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
        started.set()
        release.wait(10)
        return b"finished"

    with Probe(drain=drain) as running:
        in_flight = running.method("Public").future(behave(slow), timeout=20)
        assert started.wait(10)
        drain.begin()
        with pytest.raises(grpc.RpcError) as refused:
            running.method("Public")(returning(lambda: b"never"), timeout=10)
        release.set()

        assert in_flight.result() == b"finished"
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    details = status_details(refused.value)
    assert details["ErrorInfo"].reason == "SHUTTING_DOWN"
    assert details["RetryInfo"].retry_delay.seconds == 1


def test_the_drain_waits_for_refusals_to_stop_or_for_its_limit():
    drain = Drain()
    drain.begin()
    assert asyncio.run(drain.wait_until_quiet(quiet_seconds=0.05, at_most_seconds=30)) >= 0.05

    refusing = threading.Event()

    def keep_coming() -> None:
        while not refusing.is_set():
            with contextlib.suppress(Unavailable):
                drain.refuse_if_started()
            time.sleep(0.005)

    caller = threading.Thread(target=keep_coming)
    caller.start()
    try:
        assert asyncio.run(drain.wait_until_quiet(quiet_seconds=5, at_most_seconds=0.2)) >= 0.2
    finally:
        refusing.set()
        caller.join()
