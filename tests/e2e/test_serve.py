"""`python -m user_service serve` as Kubernetes and Envoy see it: health, reflection, and
every RPC of the contract answering (UNIMPLEMENTED until its issue lands)."""

from __future__ import annotations

import grpc
import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from tests.support.network import SERVING, raw_method
from tests.support.server_process import TEST_JWT_SECRET
from tests.support.statuses import status_details
from user_service.adapters.jwt_tokens import JwtCodec
from user_service.server.access import PUBLIC, RPC_POLICIES
from userservice.v1 import balance_pb2, balance_pb2_grpc

# The contract of protos/userservice/v1, spelled out here so that a rename cannot pass unnoticed.
CONTRACT = {
    "userservice.v1.UserAuth": {
        "Register", "Login", "RefreshToken", "Logout", "GetMe", "GetUser", "UpdateUser", "DeleteUser",
        "ListUsers", "SetUserRoles", "ChangePassword", "VerifyEmail", "ResendVerificationEmail",
        "ForgotPassword", "ResetPassword",
    },
    "userservice.v1.Balance": {
        "GetBalance", "Deposit", "Withdraw", "Transfer", "ListTransactions", "ReserveFunds",
        "CaptureHold", "ReleaseHold",
    },
}  # fmt: skip


@pytest.mark.parametrize("name", ["", *CONTRACT])
def test_health_is_serving_overall_and_per_service(service, name):
    response = health_pb2_grpc.HealthStub(service.channel).Check(health_pb2.HealthCheckRequest(service=name))

    assert response.status == SERVING


def test_health_of_an_unknown_service_is_not_found(service):
    with pytest.raises(grpc.RpcError) as failed:
        health_pb2_grpc.HealthStub(service.channel).Check(
            health_pb2.HealthCheckRequest(service="userservice.v1.Nope")
        )

    assert failed.value.code() == grpc.StatusCode.NOT_FOUND


def test_reflection_lists_both_services_with_every_rpc(service):
    database = ProtoReflectionDescriptorDatabase(service.channel)
    pool = descriptor_pool.DescriptorPool(database)

    assert set(database.get_services()) == {
        *CONTRACT,
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }
    for name, rpcs in CONTRACT.items():
        assert {method.name for method in pool.FindServiceByName(name).methods} == rpcs


def test_reflection_serves_the_http_annotations_envoy_needs(service):
    file = ProtoReflectionDescriptorDatabase(service.channel).FindFileContainingSymbol(
        "userservice.v1.Balance"
    )
    rules = {
        method.name: method.options.Extensions[annotations_pb2.http] for method in file.service[0].method
    }

    assert len(rules) == len(CONTRACT["userservice.v1.Balance"])
    assert (rules["Deposit"].post, rules["Deposit"].body) == ("/v1/users/{user_id}/balance:deposit", "*")
    assert rules["GetBalance"].get == "/v1/users/{user_id}/balance"


PUBLIC_RPCS = sorted(path for path, policy in RPC_POLICIES.items() if policy == PUBLIC)


def call(channel: grpc.Channel, path: str, metadata: tuple[tuple[str, str], ...]) -> grpc.StatusCode:
    """The status an empty request to the RPC at `path` gets."""
    try:
        raw_method(channel, path)(b"", metadata=metadata, timeout=10)
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def test_every_rpc_of_the_contract_has_an_access_policy():
    assert set(RPC_POLICIES) == {f"/{service}/{rpc}" for service, rpcs in CONTRACT.items() for rpc in rpcs}


@pytest.mark.parametrize("path", PUBLIC_RPCS)
def test_a_public_rpc_answers_a_client_that_still_sends_an_expired_token(service, path):
    expired = JwtCodec([TEST_JWT_SECRET]).encode(
        {"sub": "00000000-0000-0000-0000-000000000001", "roles": ["user"], "sid": "s", "jti": "j"}, -3600
    )

    assert (
        call(service.channel, path, (("authorization", f"Bearer {expired}"),))
        != grpc.StatusCode.UNAUTHENTICATED
    )


def test_an_rpc_that_needs_a_token_says_so(service):
    with pytest.raises(grpc.RpcError) as failed:
        balance_pb2_grpc.BalanceStub(service.channel).GetBalance(balance_pb2.GetBalanceRequest(user_id="x"))

    assert failed.value.code() == grpc.StatusCode.UNAUTHENTICATED
    info = status_details(failed.value)["ErrorInfo"]
    assert (info.reason, info.domain) == ("MISSING_TOKEN", "userservice")


def test_logs_are_json_lines_with_request_ids_and_no_secrets(service):
    with pytest.raises(grpc.RpcError):
        balance_pb2_grpc.BalanceStub(service.channel).GetBalance(
            balance_pb2.GetBalanceRequest(user_id="x"), metadata=[("x-request-id", "e2e-log-check")]
        )
    service.wait_for_output('"request_id": "e2e-log-check"')

    output = service.output()
    assert TEST_JWT_SECRET not in output
    assert '"grpc_code": "UNAUTHENTICATED"' in output
