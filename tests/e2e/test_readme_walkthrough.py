"""The README's grpcurl walk through Balance works as written: it logs in, then each
request body it sends is parsed as grpcurl would (proto JSON) and sent to the real
server, in its order, with what jq would read from the answers."""

from __future__ import annotations

import re
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format

from tests.support.auth_client import new_address
from tests.support.identities import make_identity
from tests.support.statuses import status_details
from userservice.v1 import balance_pb2, balance_pb2_grpc, user_auth_pb2, user_auth_pb2_grpc

README = Path(__file__).resolve().parents[2] / "README.md"
STEP = re.compile(r"userservice\.v1\.Balance/(\w+) <<EOF[^\n]*\n(.*?)\nEOF", re.DOTALL)


def test_the_balance_walk_through_works_as_written(service, engine):
    admin = make_identity(engine, "admin")
    walk = README.read_text().partition("A walk through `Balance`")[2]
    assert "userservice.v1.UserAuth/Login > admin.json" in walk
    login = user_auth_pb2_grpc.UserAuthStub(service.channel).Login(
        user_auth_pb2.LoginRequest(email=admin.email, password=admin.password),
        metadata=[("x-forwarded-for", new_address())],
    )
    as_json = json_format.MessageToDict(login)  # what jq reads: .accessToken, .user.id
    metadata = (("authorization", f"Bearer {as_json['accessToken']}"),)
    stub = balance_pb2_grpc.BalanceStub(service.channel)
    steps = STEP.findall(walk)
    assert [rpc for rpc, _ in steps] == [
        "Deposit", "ReserveFunds", "CaptureHold", "ListTransactions", "ListTransactions", "GetBalance",
        "Withdraw",
    ]  # fmt: skip
    shell = {"USER_ID": as_json["user"]["id"]}
    assert shell["USER_ID"] == str(admin.user_id)
    answers = []
    for rpc, body in steps[:-1]:
        request = json_format.Parse(
            re.sub(r"\$(\w+)", lambda m: shell[m.group(1)], body), getattr(balance_pb2, f"{rpc}Request")()
        )
        answers.append(getattr(stub, rpc)(request, metadata=metadata, timeout=10))
        if rpc == "ReserveFunds":
            shell["HOLD_ID"] = answers[-1].hold.id
            assert (answers[-1].balance.available, answers[-1].balance.held) == (3800, 1200)
    assert [t.amount for t in answers[3].transactions] == [-1000, 5000]
    assert [t.amount for t in answers[4].transactions] == [-1000]
    assert (answers[5].balance.available, answers[5].balance.held) == (4000, 0)

    rpc, body = steps[-1]
    request = json_format.Parse(body.replace("$USER_ID", shell["USER_ID"]), balance_pb2.WithdrawRequest())
    with pytest.raises(grpc.RpcError) as failed:
        stub.Withdraw(request, metadata=metadata, timeout=10)
    info = status_details(failed.value)["ErrorInfo"]
    assert (failed.value.code(), info.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "INSUFFICIENT_FUNDS")
    assert dict(info.metadata) == {"available": "4000", "requested": "999999"}
