"""A slow database: the test holds a row lock in a connection of its own. Calls that need
the row and carry a 1 s deadline end within about that deadline with DEADLINE_EXCEEDED or
UNAVAILABLE, and their database work ends with them: no worker thread stays stuck, so
while the lock is still held every worker can take another call, calls that do not touch
the row are served, and health stays SERVING. The server's own statement and lock
timeouts are set far beyond the test, so that only the calls' deadlines can free them."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import grpc
from sqlalchemy import text

from tests.support.databases import lock_waiters
from tests.support.identities import Identity, make_identity
from tests.support.network import SERVING, free_port, wait_for_health
from tests.support.server_process import TEST_JWT_SECRET, service_env, start_service
from tests.support.watch import HealthWatch
from userservice.v1 import balance_pb2, balance_pb2_grpc, user_auth_pb2, user_auth_pb2_grpc

WORKERS = 4
DEADLINE = 1.0
MARGIN = 4.0  # a loaded machine may be slow to answer; a stuck call would take a minute


def eventually(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def at_once(calls: list[Callable[[], object]]) -> list[object]:
    """Run the calls on threads of their own; their results (or the RpcError each raised)."""
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            results[index] = calls[index]()
        except grpc.RpcError as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def deposit(stub, who: Identity, timeout: float) -> Callable[[], object]:
    request = balance_pb2.DepositRequest(user_id=str(who.user_id), amount=10, request_id=uuid.uuid4().hex)
    return lambda: stub.Deposit(request, metadata=who.metadata, timeout=timeout)


def withdraw(stub, who: Identity, timeout: float) -> Callable[[], object]:
    request = balance_pb2.WithdrawRequest(user_id=str(who.user_id), amount=1, request_id=uuid.uuid4().hex)
    return lambda: stub.Withdraw(request, metadata=who.metadata, timeout=timeout)


def lock_account(connection, who: Identity) -> None:
    connection.execute(text("SELECT 1 FROM accounts WHERE user_id = :id FOR UPDATE"), {"id": who.user_id})


def test_calls_on_a_locked_row_end_with_their_deadline_and_free_their_workers(own_database, tmp_path):
    owner = own_database.owner
    env = service_env(
        DATABASE_URL=own_database.service_url,
        JWT_SECRET=TEST_JWT_SECRET,
        GRPC_MAX_WORKERS=str(WORKERS),
        DATABASE_STATEMENT_TIMEOUT_SECONDS="600",
        DATABASE_LOCK_TIMEOUT_SECONDS="600",
        DATABASE_POOL_TIMEOUT_SECONDS="30",
        HEALTH_CHECK_INTERVAL_SECONDS="0.2",
        DATA_DIR=str(tmp_path / ".data"),
    )
    locked, other = make_identity(owner), make_identity(owner)
    queued = [make_identity(owner) for _ in range(WORKERS)]
    with start_service(env, free_port(), tmp_path / "server.log") as server:
        wait_for_health(server.channel, SERVING)
        balance = balance_pb2_grpc.BalanceStub(server.channel)
        auth = user_auth_pb2_grpc.UserAuthStub(server.channel)
        deposit(balance, locked, 10)()  # funds for the withdrawals below
        with HealthWatch(server.channel) as health, owner.connect() as holder:
            lock_account(holder, locked)

            started = time.monotonic()
            ended = at_once(
                [deposit(balance, locked, DEADLINE) for _ in range(WORKERS // 2)]
                + [withdraw(balance, locked, DEADLINE) for _ in range(WORKERS // 2)]
            )
            took = time.monotonic() - started

            assert all(isinstance(error, grpc.RpcError) for error in ended), ended
            codes = {error.code() for error in ended if isinstance(error, grpc.RpcError)}
            assert codes <= {grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE}, ended
            assert took < DEADLINE + MARGIN
            # Their database work ended too: nothing of the service's waits on the lock.
            eventually(
                lambda: lock_waiters(owner, own_database.name) == 0, MARGIN, "a call still waits on the lock"
            )

            # Every worker is free: as many calls as there are workers wait at once, each
            # on another row the test locks, and all go through when it lets go.
            queued_results: list[object] = []
            with owner.connect() as second:
                for who in queued:
                    lock_account(second, who)
                blocker = int(second.execute(text("SELECT pg_backend_pid()")).scalar_one())
                waiting = threading.Thread(
                    target=lambda: queued_results.extend(
                        at_once([deposit(balance, who, 30) for who in queued])
                    )
                )
                waiting.start()
                eventually(
                    lambda: lock_waiters(owner, own_database.name, blocker) == WORKERS,
                    MARGIN + 10,
                    "fewer calls than workers could wait at once",
                )
                second.rollback()
            waiting.join(timeout=60)
            assert all(isinstance(result, balance_pb2.DepositResponse) for result in queued_results), (
                queued_results
            )

            # Calls that do not touch the locked row are served while it stays locked.
            assert (
                balance.GetBalance(
                    balance_pb2.GetBalanceRequest(user_id=str(locked.user_id)),
                    metadata=locked.metadata,
                    timeout=5,
                ).balance.available
                == 10
            )
            deposit(balance, other, 5)()
            assert auth.GetMe(
                user_auth_pb2.GetMeRequest(), metadata=other.metadata, timeout=5
            ).user.id == str(other.user_id)
            holder.rollback()

            deposit(balance, locked, 5)()  # the row is free again
            assert set(health.statuses()) == {SERVING}, health.statuses()
