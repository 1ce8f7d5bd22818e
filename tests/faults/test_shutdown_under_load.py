"""SIGTERM while client threads read balances and deposit, with some deposits waiting on a
row lock the test holds (so that calls are surely in flight): no call the server accepted
fails, calls after the refusal are refused cleanly (UNAVAILABLE, by gRPC or by the
server's drain: never CANCELLED, broken or INTERNAL), the process exits 0 within the
grace, and every deposit that was answered is in the ledger exactly once (and no refused
one is)."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

import grpc
from google.protobuf.message import Message
from sqlalchemy import text

from tests.support.databases import lock_waiters
from tests.support.identities import Identity, make_identity
from tests.support.network import SERVING, free_port, wait_for_health
from tests.support.server_process import TEST_JWT_SECRET, run_cli, service_env, start_service
from tests.support.statuses import status_details
from userservice.v1 import balance_pb2, balance_pb2_grpc

GRACE_SECONDS = 10
THREADS = 8
HOT_CALLS = 3
MAX_CALLS_PER_THREAD = 300


@dataclass
class Call:
    rpc: str
    user_id: uuid.UUID
    amount: int
    request_id: str
    started: float
    ended: float
    code: grpc.StatusCode
    reached: bool  # the server's code saw it: it sent x-request-id back
    reason: str = ""

    @property
    def refused(self) -> bool:
        """Refused cleanly: by gRPC before the service saw it, or by the service's drain."""
        return self.code == grpc.StatusCode.UNAVAILABLE and (
            not self.reached or self.reason == "SHUTTING_DOWN"
        )


@dataclass
class Log:
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: list[Call] = field(default_factory=list)

    def add(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)


def call(stub, rpc: str, who: Identity, amount: int = 0, timeout: float = 30) -> Call:
    request_id = uuid.uuid4().hex
    request: Message = (
        balance_pb2.DepositRequest(user_id=str(who.user_id), amount=amount, request_id=request_id)
        if rpc == "Deposit"
        else balance_pb2.GetBalanceRequest(user_id=str(who.user_id))
    )
    started = time.monotonic()
    try:
        _, answer = getattr(stub, rpc).with_call(request, metadata=who.metadata, timeout=timeout)
        code, reason = grpc.StatusCode.OK, ""
    except grpc.RpcError as error:
        answer, code = error, error.code()
        try:
            reason = status_details(error)["ErrorInfo"].reason
        except (AssertionError, KeyError):
            reason = ""
    reached = any(key == "x-request-id" for key, _ in answer.trailing_metadata() or ())
    return Call(rpc, who.user_id, amount, request_id, started, time.monotonic(), code, reached, reason)


def keep_calling(port: int, who: Identity, log: Log, stop: threading.Event) -> None:
    """GetBalance and deposits, one after another, on a connection of its own, as a client
    that retries UNAVAILABLE after a second (the RetryInfo's delay), until the server is gone."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = balance_pb2_grpc.BalanceStub(channel)
        for number in range(MAX_CALLS_PER_THREAD):
            made = call(stub, "Deposit" if number % 2 else "GetBalance", who, amount=number + 1, timeout=15)
            log.add(made)
            if stop.is_set():
                return
            if made.code == grpc.StatusCode.UNAVAILABLE:
                stop.wait(1.0)


def test_sigterm_under_load_fails_no_accepted_call_and_refuses_the_rest_cleanly(own_database, tmp_path):
    owner = own_database.owner
    env = service_env(
        DATABASE_URL=own_database.service_url,
        JWT_SECRET=TEST_JWT_SECRET,
        SHUTDOWN_GRACE_SECONDS=str(GRACE_SECONDS),
        DATA_DIR=str(tmp_path / ".data"),
    )
    users = [make_identity(owner) for _ in range(THREADS)]
    hot = make_identity(owner)
    log = Log()
    stop = threading.Event()
    with start_service(env, free_port(), tmp_path / "server.log") as server:
        wait_for_health(server.channel, SERVING)
        stub = balance_pb2_grpc.BalanceStub(server.channel)
        threads = [threading.Thread(target=keep_calling, args=(server.port, who, log, stop)) for who in users]
        for thread in threads:
            thread.start()
        with owner.connect() as holder:
            holder.execute(text("SELECT 1 FROM accounts WHERE user_id = :id FOR UPDATE"), {"id": hot.user_id})
            hot_calls = [
                threading.Thread(target=lambda n=n: log.add(call(stub, "Deposit", hot, amount=1000 + n)))
                for n in range(HOT_CALLS)
            ]
            for thread in hot_calls:
                thread.start()
            deadline = time.monotonic() + 20
            while lock_waiters(owner, own_database.name) < HOT_CALLS:
                assert time.monotonic() < deadline, "the deposits on the locked account never waited"
                time.sleep(0.02)

            signalled = time.monotonic()
            server.signal()
            server.wait_for_output("refusing new calls", within=10)
            time.sleep(0.5)  # calls keep coming; the deposits on the locked account still wait
            holder.rollback()

        for thread in hot_calls:
            thread.join(timeout=GRACE_SECONDS + 10)
        assert server.wait(within=GRACE_SECONDS + 10) == 0, server.output()[-3000:]
        exited = time.monotonic()
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    calls = log.calls
    assert exited - signalled < GRACE_SECONDS + 5
    failed = [c for c in calls if c.code != grpc.StatusCode.OK and not c.refused]
    assert not failed, f"{len(failed)} calls failed other than by a clean refusal: {failed[:5]}"
    in_flight = [c for c in calls if c.started < signalled < c.ended]
    assert (
        len([c for c in in_flight if c.user_id == hot.user_id and c.code == grpc.StatusCode.OK]) == HOT_CALLS
    )
    assert [c for c in calls if c.refused and c.started > signalled], "no call was refused after SIGTERM"
    check_ledger(owner, [c for c in calls if c.rpc == "Deposit"], env)


def check_ledger(owner, deposits: list[Call], env: dict[str, str]) -> None:
    with owner.connect() as connection:
        rows = connection.execute(
            text("SELECT request_id, count(*) AS n FROM ledger_transactions GROUP BY request_id")
        ).all()
        balances = {
            row.user_id: row.available
            for row in connection.execute(text("SELECT user_id, available FROM accounts"))
        }
    in_ledger = {row.request_id: row.n for row in rows}
    answered = [d for d in deposits if d.code == grpc.StatusCode.OK]
    assert {d.request_id: 1 for d in answered} == in_ledger
    expected: dict[uuid.UUID, int] = {}
    for deposit in answered:
        expected[deposit.user_id] = expected.get(deposit.user_id, 0) + deposit.amount
    assert {user_id: balances[user_id] for user_id in expected} == expected
    reconciled = run_cli(["reconcile"], env)
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
