"""Who may do what with a balance, for every role and every Balance RPC: the owner,
`service` and `admin` move money and read; `agent` only reads; another user does
neither. A refused call changes nothing, and a caller that may not act on others learns
nothing about their ids (PERMISSION_DENIED before NOT_FOUND)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from sqlalchemy import Engine, text

from tests.support.identities import Identity, make_identity
from tests.support.statuses import status_details
from userservice.v1 import balance_pb2, balance_pb2_grpc

B = balance_pb2
RPCS = (
    "GetBalance",
    "ListTransactions",
    "Deposit",
    "Withdraw",
    "Transfer",
    "ReserveFunds",
    "CaptureHold",
    "ReleaseHold",
)
READS = {"GetBalance", "ListTransactions"}
ALLOWED = {
    "owner": set(RPCS),
    "another user": set(),
    "agent": READS,
    "service": set(RPCS),
    "admin": set(RPCS),
}


@dataclass
class Victim:
    identity: Identity
    payee: Identity
    hold_id: str

    @property
    def user_id(self) -> str:
        return str(self.identity.user_id)


@pytest.fixture(scope="module")
def stub(service) -> balance_pb2_grpc.BalanceStub:
    return balance_pb2_grpc.BalanceStub(service.channel)


@pytest.fixture
def victim(stub, engine) -> Victim:
    """A user with 100 available and an active hold of 30."""
    me = make_identity(engine)
    stub.Deposit(
        B.DepositRequest(user_id=str(me.user_id), amount=130, request_id=uuid.uuid4().hex),
        metadata=me.metadata,
    )
    hold = stub.ReserveFunds(
        B.ReserveFundsRequest(user_id=str(me.user_id), amount=30, request_id=uuid.uuid4().hex),
        metadata=me.metadata,
    ).hold
    return Victim(me, make_identity(engine), hold.id)


def calls(stub, user_id: str, hold_id: str, payee: str) -> dict[str, Callable[[Identity], Any]]:
    def rid() -> str:
        return uuid.uuid4().hex

    requests = {
        "GetBalance": B.GetBalanceRequest(user_id=user_id),
        "ListTransactions": B.ListTransactionsRequest(user_id=user_id),
        "Deposit": B.DepositRequest(user_id=user_id, amount=5, request_id=rid()),
        "Withdraw": B.WithdrawRequest(user_id=user_id, amount=5, request_id=rid()),
        "Transfer": B.TransferRequest(from_user_id=user_id, to_user_id=payee, amount=5, request_id=rid()),
        "ReserveFunds": B.ReserveFundsRequest(user_id=user_id, amount=5, request_id=rid()),
        "CaptureHold": B.CaptureHoldRequest(hold_id=hold_id, amount=5, request_id=rid()),
        "ReleaseHold": B.ReleaseHoldRequest(hold_id=hold_id),
    }

    def call(name: str, request: Any) -> Callable[[Identity], Any]:
        return lambda who: getattr(stub, name)(request, metadata=who.metadata, timeout=10)

    return {name: call(name, request) for name, request in requests.items()}


def caller(engine: Engine, role: str, victim: Victim) -> Identity:
    if role == "owner":
        return victim.identity
    return make_identity(engine, "user" if role == "another user" else role)


def snapshot(engine: Engine, victim: Victim) -> tuple[Any, ...]:
    """Everything a money call could change for the victim."""
    with engine.connect() as connection:
        return tuple(
            connection.execute(text(sql), {"u": victim.identity.user_id, "p": victim.payee.user_id}).all()
            for sql in (
                "SELECT available, held FROM accounts WHERE user_id IN (:u, :p) ORDER BY user_id",
                "SELECT count(*) FROM ledger_transactions l JOIN accounts a ON a.id = l.account_id"
                " WHERE a.user_id IN (:u, :p)",
                "SELECT status, captured_amount FROM holds h JOIN accounts a ON a.id = h.account_id"
                " WHERE a.user_id = :u ORDER BY h.create_time",
                "SELECT count(*) FROM audit_events WHERE subject_user_id IN (:u, :p)",
            )
        )


@pytest.mark.parametrize("rpc", RPCS)
@pytest.mark.parametrize("role", list(ALLOWED))
def test_who_may_call_what_on_someone_elses_balance(stub, engine, victim, role, rpc):
    who = caller(engine, role, victim)
    call = calls(stub, victim.user_id, victim.hold_id, str(victim.payee.user_id))[rpc]
    before = snapshot(engine, victim)

    if rpc in ALLOWED[role]:
        call(who)
        if rpc in READS:
            assert snapshot(engine, victim) == before
        else:
            assert snapshot(engine, victim) != before
        return

    with pytest.raises(grpc.RpcError) as failed:
        call(who)
    assert failed.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert status_details(failed.value)["ErrorInfo"].reason == "PERMISSION_DENIED"
    assert snapshot(engine, victim) == before


@pytest.mark.parametrize("role", ["another user", "agent"])
def test_a_caller_that_may_not_move_others_money_cannot_probe_for_ids(stub, engine, victim, role):
    who = caller(engine, role, victim)
    nobody = str(uuid.uuid4())
    probes = calls(stub, nobody, str(uuid.uuid4()), str(who.user_id))
    for rpc in ("Deposit", "Withdraw", "Transfer", "ReserveFunds") + (
        () if role == "agent" else tuple(READS)
    ):
        with pytest.raises(grpc.RpcError) as failed:
            probes[rpc](who)
        assert failed.value.code() == grpc.StatusCode.PERMISSION_DENIED, rpc


def test_an_agent_reads_anyone_so_learns_only_what_it_may(stub, engine):
    agent = make_identity(engine, "agent")

    with pytest.raises(grpc.RpcError) as failed:
        stub.GetBalance(B.GetBalanceRequest(user_id=str(uuid.uuid4())), metadata=agent.metadata)

    assert failed.value.code() == grpc.StatusCode.NOT_FOUND
