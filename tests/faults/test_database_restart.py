"""PostgreSQL restarted (a cluster of the test's own) while client threads deposit, each
deposit retried with its request_id on UNAVAILABLE, ABORTED or DEADLINE_EXCEEDED until it
succeeds: every deposit is applied exactly once, health goes NOT_SERVING and back to
SERVING, and the same server process serves again without a restart."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
import pytest
from sqlalchemy import Engine, text

from tests.support.identities import Identity, make_identity
from tests.support.network import NOT_SERVING, SERVING, free_port, wait_for_health
from tests.support.postgres_cluster import PostgresCluster
from tests.support.server_process import TEST_JWT_SECRET, run_cli, service_env, start_service
from tests.support.watch import HealthWatch
from user_service.storage import migrate
from user_service.storage.database import make_engine
from userservice.v1 import balance_pb2, balance_pb2_grpc

SERVICE_ROLE = "user_service"
THREADS = 4
DEPOSITS_PER_THREAD = 40
RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED, grpc.StatusCode.DEADLINE_EXCEEDED}


@dataclass(frozen=True)
class Deposit:
    who: Identity
    amount: int
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def request(self) -> balance_pb2.DepositRequest:
        return balance_pb2.DepositRequest(
            user_id=str(self.who.user_id), amount=self.amount, request_id=self.request_id
        )


@dataclass
class Tally:
    """What the client threads saw, shared between them."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    transactions: dict[str, str] = field(default_factory=dict)  # request_id -> ledger id
    retries: Counter[str] = field(default_factory=Counter)  # status code name -> how many
    failures: list[str] = field(default_factory=list)

    def done(self) -> int:
        with self.lock:
            return len(self.transactions)


@pytest.fixture
def cluster() -> Iterator[tuple[PostgresCluster, Engine]]:
    """A migrated cluster of the test's own, with a service role, and its owner's engine."""
    with PostgresCluster() as cluster:
        owner = make_engine(cluster.url, pool_size=2)
        with owner.begin() as connection:
            connection.execute(text(f'CREATE ROLE "{SERVICE_ROLE}" LOGIN'))
        migrate.upgrade(owner, service_role=SERVICE_ROLE)
        yield cluster, owner
        owner.dispose()


def deposit_until_applied(stub, deposits: list[Deposit], tally: Tally, give_up: float) -> None:
    for deposit in deposits:
        while True:
            try:
                answer = stub.Deposit(deposit.request(), metadata=deposit.who.metadata, timeout=5)
            except grpc.RpcError as error:
                if error.code() not in RETRYABLE or time.monotonic() > give_up:
                    with tally.lock:
                        tally.failures.append(f"{error.code().name}: {error.details()}")
                    return
                with tally.lock:
                    tally.retries[error.code().name] += 1
                time.sleep(0.05)
                continue
            with tally.lock:
                tally.transactions[deposit.request_id] = answer.transaction.id
            break


def wait_until(condition, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.02)


def test_deposits_retried_through_a_database_restart_are_applied_exactly_once(cluster, tmp_path):
    pg, owner = cluster
    service_url = f"postgresql://{SERVICE_ROLE}@127.0.0.1:{pg.port}/postgres"
    env = service_env(
        DATABASE_URL=service_url,
        JWT_SECRET=TEST_JWT_SECRET,
        HEALTH_CHECK_INTERVAL_SECONDS="0.2",
        DATA_DIR=str(tmp_path / ".data"),
    )
    accounts = [make_identity(owner) for _ in range(THREADS)]
    rng = random.Random(9)  # noqa: S311  (repeatable amounts, no secret)
    plans = [
        [Deposit(accounts[(t + i) % THREADS], rng.randint(1, 1000)) for i in range(DEPOSITS_PER_THREAD)]
        for t in range(THREADS)
    ]
    total = THREADS * DEPOSITS_PER_THREAD
    tally = Tally()

    with start_service(env, free_port(), tmp_path / "server.log") as server:
        wait_for_health(server.channel, SERVING)
        pid = server.process.pid
        stub = balance_pb2_grpc.BalanceStub(server.channel)
        with HealthWatch(server.channel) as health:
            give_up = time.monotonic() + 120
            threads = [
                threading.Thread(target=deposit_until_applied, args=(stub, plan, tally, give_up))
                for plan in plans
            ]
            for thread in threads:
                thread.start()
            wait_until(lambda: tally.done() >= total // 4, 60, "a quarter of the deposits went through")

            pg.stop()
            wait_for_health(server.channel, NOT_SERVING)
            wait_until(lambda: sum(tally.retries.values()) >= THREADS, 30, "refused a deposit while down")
            pg.start()

            for thread in threads:
                thread.join(timeout=150)
            wait_for_health(server.channel, SERVING)
            seen = health.statuses()

        assert not tally.failures, tally.failures
        assert tally.done() == total
        assert set(tally.retries) <= {code.name for code in RETRYABLE}, tally.retries
        assert NOT_SERVING in seen, seen
        assert seen[-1] == SERVING, seen
        assert server.process.poll() is None, server.output()[-3000:]  # never restarted: the same process
        assert server.process.pid == pid
        # Every deposit sent once more after the restart: the first result, no money moved.
        for plan in plans:
            for deposit in plan:
                again = stub.Deposit(deposit.request(), metadata=deposit.who.metadata, timeout=10)
                assert again.transaction.id == tally.transactions[deposit.request_id]
        owner.dispose()  # the test's own pooled connections died with the restart
        check_books(owner, plans, env)


def check_books(owner: Engine, plans: list[list[Deposit]], env: dict[str, str]) -> None:
    expected: Counter[uuid.UUID] = Counter()
    for plan in plans:
        for deposit in plan:
            expected[deposit.who.user_id] += deposit.amount
    with owner.connect() as connection:
        balances = {
            row.user_id: row.available
            for row in connection.execute(text("SELECT user_id, available FROM accounts"))
        }
        per_request = connection.execute(
            text("SELECT request_id, count(*) FROM ledger_transactions GROUP BY request_id")
        ).all()
    assert {user_id: balances[user_id] for user_id in expected} == dict(expected)
    assert sorted(request_id for request_id, _ in per_request) == sorted(
        deposit.request_id for plan in plans for deposit in plan
    )
    assert {count for _, count in per_request} == {1}
    reconciled = run_cli(["reconcile"], env)
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
