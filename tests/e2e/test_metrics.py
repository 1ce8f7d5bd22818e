"""/metrics as Prometheus scrapes it: go-grpc-prometheus's counters and histogram with their
labels, the service's own metrics moving as calls are made, the reconciliation gauge, and
the numbers of several server processes added up."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Iterator

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from tests.support.auth_client import Caller
from tests.support.databases import as_role, login_role, temporary_database
from tests.support.identities import make_identity
from tests.support.network import SERVING, free_port, wait_for_health
from tests.support.server_process import ServerProcess, start_service
from tests.support.statuses import status_details
from user_service.storage.database import make_engine
from userservice.v1 import balance_pb2, balance_pb2_grpc, user_auth_pb2

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(server: ServerProcess) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics", timeout=5) as answer:
        body = answer.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def grpc_labels(method: str, service: str = "userservice.v1.UserAuth") -> dict[str, str]:
    return {"grpc_type": "unary", "grpc_service": service, "grpc_method": method}


def counted(
    server: ServerProcess, name: str, at_least: float, since: Samples | None = None, **labels: str
) -> Samples:
    """A scrape once `name` has reached `at_least` (more than in `since`): calls are counted
    in the server process and reach /metrics within a second (metrics.FLUSH_SECONDS)."""
    base = value(since, name, **labels) if since is not None else 0.0
    wait_until(lambda: value(scrape(server), name, **labels) - base >= at_least)
    return scrape(server)


def wait_until(check, within: float = 20) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("never happened")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def measured(service_settings, tmp_path_factory) -> Iterator[ServerProcess]:
    settings = {**service_settings, "METRICS_REFRESH_SECONDS": "0.2"}
    with start_service(settings, free_port(), tmp_path_factory.mktemp("metrics") / "server.log") as server:
        wait_for_health(server.channel, SERVING)
        yield server


def test_grpc_calls_are_counted_by_method_and_code_and_timed(measured, engine):
    identity = make_identity(engine)
    before = scrape(measured)

    for _ in range(3):
        Caller(measured.channel, token=identity.token).call("GetMe")
    for _ in range(2):
        Caller(measured.channel).refused("GetMe")
    getme = grpc_labels("GetMe")
    # A call is counted as handled last, after it started (both reach /metrics together).
    counted(measured, "grpc_server_handled_total", 3, before, **getme, grpc_code="OK")
    after = counted(measured, "grpc_server_handled_total", 2, before, **getme, grpc_code="UNAUTHENTICATED")

    assert (
        value(after, "grpc_server_started_total", **getme)
        - value(before, "grpc_server_started_total", **getme)
        == 5
    )
    for code, count in (("OK", 3), ("UNAUTHENTICATED", 2)):
        handled = value(after, "grpc_server_handled_total", **getme, grpc_code=code)
        assert handled - value(before, "grpc_server_handled_total", **getme, grpc_code=code) == count
    timed = value(after, "grpc_server_handling_seconds_count", **getme)
    assert timed - value(before, "grpc_server_handling_seconds_count", **getme) == 5
    assert value(after, "grpc_server_handling_seconds_bucket", **getme, le="+Inf") == timed
    assert value(after, "grpc_server_handling_seconds_bucket", **getme, le="0.005") <= timed
    sent = value(after, "grpc_server_msg_sent_total", **getme) - value(
        before, "grpc_server_msg_sent_total", **getme
    )
    assert sent == 3


def test_the_services_own_metrics_move(measured, engine):
    identity = make_identity(engine)
    service_identity = make_identity(engine, "service")
    before = scrape(measured)
    client = Caller(measured.channel)

    client.login(identity.email)
    for _ in range(3):
        client.refused("Login", email=identity.email, password="not the password")
    assert (
        client.refused("Login", email=identity.email, password="not the password")[1] == "TOO_MANY_ATTEMPTS"
    )
    balance = balance_pb2_grpc.BalanceStub(measured.channel)
    balance.Deposit(
        balance_pb2.DepositRequest(user_id=str(identity.user_id), amount=500, request_id=uuid.uuid4().hex),
        metadata=service_identity.metadata,
    )
    balance.ReserveFunds(
        balance_pb2.ReserveFundsRequest(
            user_id=str(identity.user_id), amount=120, request_id=uuid.uuid4().hex
        ),
        metadata=service_identity.metadata,
    )
    wait_until(lambda: value(scrape(measured), "user_service_active_holds") >= 1)
    after = scrape(measured)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("user_service_logins_total", outcome="success") == 1
    assert delta("user_service_logins_total", outcome="invalid_credentials") == 3
    assert delta("user_service_logins_total", outcome="too_many_attempts") == 1
    assert delta("user_service_rate_limit_refusals_total", limit="failures:account") == 1
    assert delta("user_service_money_moved_minor_units_total", kind="deposit", currency="USD") == 500
    assert delta("user_service_money_moved_minor_units_total", kind="reserve", currency="USD") == 120
    for gauge in (
        "user_service_email_outbox_backlog",
        "user_service_email_outbox_oldest_age_seconds",
        "user_service_db_pool_connections_in_use",
        "user_service_db_pool_waiting",
    ):
        assert any(name == gauge for name, _ in after), gauge
    assert value(after, "process_cpu_seconds_total") > 0
    assert value(after, "process_resident_memory_bytes") > 0


def test_log_lines_carry_the_callers_user_id(measured, engine):
    identity = make_identity(engine)
    client = Caller(measured.channel, token=identity.token)

    _, call = client.stub.GetMe.with_call(user_auth_pb2.GetMeRequest(), metadata=client.metadata())
    request_id = dict(call.trailing_metadata())["x-request-id"]
    measured.wait_for_output(request_id)

    lines = [json.loads(line) for line in measured.output().splitlines() if request_id in line]
    assert lines
    assert all(line.get("user_id") == str(identity.user_id) for line in lines)


def test_the_reconciliation_gauge_sees_a_ledger_changed_behind_its_back(service_settings, tmp_path):
    """On a database of its own: the test corrupts it."""
    with login_role() as role, temporary_database(migrated=True, service_role=role) as owner_url:
        settings = {
            **service_settings,
            "DATABASE_URL": as_role(owner_url, role),
            "RECONCILE_INTERVAL_SECONDS": "1",
        }
        with start_service(settings, free_port(), tmp_path / "server.log") as server:
            wait_for_health(server.channel, SERVING)
            owner = make_engine(owner_url, pool_size=1)
            try:
                identity = make_identity(owner, "service")
                balance_pb2_grpc.BalanceStub(server.channel).Deposit(
                    balance_pb2.DepositRequest(user_id=str(identity.user_id), amount=700, request_id="r-1"),
                    metadata=identity.metadata,
                )
                first = time.time()
                wait_until(
                    lambda: value(scrape(server), "user_service_reconcile_last_run_timestamp_seconds") > first
                )
                assert value(scrape(server), "user_service_reconcile_mismatched_accounts") == 0

                with owner.begin() as connection:
                    connection.execute(
                        text(
                            "ALTER TABLE ledger_transactions DISABLE TRIGGER ledger_transactions_append_only"
                        )
                    )
                    connection.execute(
                        text("UPDATE ledger_transactions SET amount = 70 WHERE request_id = 'r-1'")
                    )
                    connection.execute(
                        text("ALTER TABLE ledger_transactions ENABLE TRIGGER ledger_transactions_append_only")
                    )

                wait_until(lambda: value(scrape(server), "user_service_reconcile_mismatched_accounts") == 1)
            finally:
                owner.dispose()
        assert "reconciliation found 1 accounts that disagree" in server.output()


def test_several_server_processes_share_the_port_and_add_up_their_metrics(service_settings, engine, tmp_path):
    settings = {**service_settings, "GRPC_PROCESSES": "2"}
    port = free_port()
    with start_service(settings, port, tmp_path / "server.log") as server:
        wait_for_health(server.channel, SERVING)
        # Both listen before the connections are made (the first to serve answers health).
        wait_until(lambda: server.output().count("serving gRPC on port") == 2)
        identity = make_identity(engine)
        channels = [
            grpc.insecure_channel(f"127.0.0.1:{port}", options=[("test.channel", n)]) for n in range(16)
        ]
        for channel in channels:
            for _ in range(2):
                Caller(channel, token=identity.token).call("GetMe")
        Caller(channels[0]).refused("GetMe")
        getme = grpc_labels("GetMe")
        counted(server, "grpc_server_handled_total", 32, None, **getme, grpc_code="OK")
        samples = counted(server, "grpc_server_handled_total", 1, None, **getme, grpc_code="UNAUTHENTICATED")
        for channel in channels:
            channel.close()

        assert value(samples, "grpc_server_handled_total", **getme, grpc_code="OK") == 32
        assert value(samples, "grpc_server_handled_total", **getme, grpc_code="UNAUTHENTICATED") == 1
        pids = {dict(labels)["pid"] for name, labels in samples if name == "process_cpu_seconds_total"}
        assert len(pids) == 2
        served_by = {
            json.loads(line)["pid"]
            for line in server.output().splitlines()
            if '"grpc_method": "/userservice' in line
        }
        assert served_by == {int(pid) for pid in pids}  # both took calls

        server.signal()
        assert server.wait(within=60) == 0, server.output()
    assert server.output().count('"message": "stopped"') == 2  # each process drained
    assert "stopped (exit codes [0, 0])" in server.output()


def test_a_refused_call_is_counted_under_its_code(measured):
    before = scrape(measured)
    with pytest.raises(grpc.RpcError) as refused:
        Caller(measured.channel).call("Register", email="not-an-email", password="x")
    assert status_details(refused.value)["ErrorInfo"].reason == "INVALID_EMAIL"

    register = grpc_labels("Register")
    after = counted(
        measured, "grpc_server_handled_total", 1, before, **register, grpc_code="INVALID_ARGUMENT"
    )
    handled = value(after, "grpc_server_handled_total", **register, grpc_code="INVALID_ARGUMENT")
    assert handled - value(before, "grpc_server_handled_total", **register, grpc_code="INVALID_ARGUMENT") == 1
