"""Holds past their ttl are released exactly once: by the sweeper in the server, by the
`release-expired-holds` command, by a ReleaseHold that comes first, whoever runs at once.
On a database of the module's own, so that the counts are this module's holds only."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text

from tests.support.databases import as_role, temporary_database
from tests.support.money import (
    Money,
    acting_as,
    age_holds,
    audit_count,
    figures,
    money_on,
    new_user,
    service_principal,
)
from tests.support.network import SERVING, free_port, wait_for_health
from tests.support.server_process import TEST_JWT_SECRET, run_cli, service_env, start_service
from user_service.domain.money import HoldStatus
from user_service.domain.money_errors import HoldNotActive
from user_service.storage.database import make_engine

SERVICE = service_principal()


@pytest.fixture(scope="module")
def database(service_role) -> Iterator[tuple[str, Engine]]:
    with temporary_database(migrated=True, service_role=service_role) as url:
        owner = make_engine(url, pool_size=2)
        yield as_role(url, service_role), owner
        owner.dispose()


@pytest.fixture(scope="module")
def owner(database) -> Engine:
    return database[1]


@pytest.fixture(scope="module")
def money(database) -> Iterator[Money]:
    with money_on(database[0], pool_size=12) as made:
        yield made


@pytest.fixture
def cli_env(database, tmp_path) -> dict[str, str]:
    return service_env(DATABASE_URL=database[0], JWT_SECRET=TEST_JWT_SECRET, DATA_DIR=str(tmp_path / ".data"))


def expired_holds(
    money: Money, owner: Engine, user: uuid.UUID, count: int, amount: int = 10
) -> list[uuid.UUID]:
    """`count` holds of `amount` on `user`, each an hour past its expire_time."""
    money.balances.deposit(
        SERVICE, user_id=str(user), amount=count * amount, request_id=uuid.uuid4().hex, description=""
    )
    holds = [
        money.holds.reserve(
            SERVICE, user_id=str(user), amount=amount, request_id=uuid.uuid4().hex, reference="", ttl=None
        ).hold.id
        for _ in range(count)
    ]
    age_holds(owner, *holds)
    return holds


def statuses(owner: Engine, holds: list[uuid.UUID]) -> list[str]:
    with owner.connect() as connection:
        return list(
            connection.execute(
                text("SELECT status FROM holds WHERE id = ANY(:ids)"), {"ids": holds}
            ).scalars()
        )


def expirations(owner: Engine, hold: uuid.UUID) -> int:
    return audit_count(owner, "balance.expire", hold_id=str(hold))


def test_sweepers_and_releases_racing_expire_each_hold_once(money, owner):
    user = new_user(owner)
    holds = expired_holds(money, owner, user, 12)
    me = acting_as(user)

    with ThreadPoolExecutor(8) as pool:
        sweeps = [pool.submit(money.sweeper.release_all) for _ in range(4)]
        releases = [pool.submit(money.holds.release, me, str(hold)) for hold in holds[:4]]
        released = sum(sweep.result() for sweep in sweeps)
        assert {release.result().hold.status for release in releases} == {HoldStatus.EXPIRED}

    assert 8 <= released <= 12  # the four released by hand may have been the sweepers' too
    assert statuses(owner, holds) == ["expired"] * 12
    assert [expirations(owner, hold) for hold in holds] == [1] * 12
    assert figures(owner, user) == (120, 0)
    assert money.reconcile().clean


def test_a_hold_within_its_ttl_is_left_alone(money, owner):
    user = new_user(owner)
    money.balances.deposit(SERVICE, user_id=str(user), amount=10, request_id=uuid.uuid4().hex, description="")
    hold = money.holds.reserve(
        SERVICE, user_id=str(user), amount=10, request_id=uuid.uuid4().hex, reference="", ttl=None
    ).hold

    money.sweeper.release_all()

    assert statuses(owner, [hold.id]) == ["active"]
    assert figures(owner, user) == (0, 10)


def test_a_capture_that_gets_the_lock_after_the_expiry_finds_the_hold_expired(money, owner):
    """Expiry is judged when the hold is locked, not when the capture's transaction began:
    a capture that waited on the account (a transfer, say) past the hold's expire_time
    does not take money that is no longer reserved."""
    user = new_user(owner)
    key = uuid.uuid4().hex
    money.balances.deposit(SERVICE, user_id=str(user), amount=1000, request_id=key, description="")
    hold = money.holds.reserve(
        SERVICE, user_id=str(user), amount=500, request_id=key, reference="", ttl=timedelta(seconds=1)
    ).hold
    with owner.connect() as blocker, ThreadPoolExecutor(1) as pool:
        blocker.begin()
        blocker.execute(text("SELECT 1 FROM accounts WHERE user_id = :user FOR UPDATE"), {"user": user})
        capture = pool.submit(
            money.holds.capture, SERVICE, hold_id=str(hold.id), amount=0, request_id=uuid.uuid4().hex
        )
        time.sleep(1.5)  # past the expire_time, within the lock timeout (2 s)
        blocker.commit()
        with pytest.raises(HoldNotActive):
            capture.result(timeout=10)

    assert statuses(owner, [hold.id]) == ["expired"]
    assert figures(owner, user) == (1000, 0)


def test_the_command_releases_expired_holds_once(money, owner, cli_env):
    user = new_user(owner)
    holds = expired_holds(money, owner, user, 3)

    first = run_cli(["release-expired-holds"], cli_env)
    second = run_cli(["release-expired-holds"], cli_env)

    assert (first.returncode, first.stdout.strip()) == (0, "released 3 expired holds"), first.stderr
    assert (second.returncode, second.stdout.strip()) == (0, "released 0 expired holds"), second.stderr
    assert statuses(owner, holds) == ["expired"] * 3
    assert [expirations(owner, hold) for hold in holds] == [1] * 3
    assert figures(owner, user) == (30, 0)


def test_the_servers_sweeper_releases_expired_holds_once_alongside_the_command(
    money, owner, database, cli_env, tmp_path
):
    env = {**cli_env, "HOLD_SWEEP_INTERVAL_SECONDS": "0.1", "HEALTH_CHECK_INTERVAL_SECONDS": "0.5"}
    user = new_user(owner)
    with start_service(env, free_port(), tmp_path / "server.log") as server:
        wait_for_health(server.channel, SERVING)
        holds = expired_holds(money, owner, user, 5)
        command = subprocess.Popen(
            [sys.executable, "-m", "user_service", "release-expired-holds"],
            env=cli_env,
            stdout=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while statuses(owner, holds) != ["expired"] * 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        output, _ = command.communicate(timeout=60)

    assert command.returncode == 0
    by_command = int(re.fullmatch(r"released (\d+) expired holds", output.strip()).group(1))  # type: ignore[union-attr]
    assert 0 <= by_command <= 5
    assert statuses(owner, holds) == ["expired"] * 5
    assert [expirations(owner, hold) for hold in holds] == [1] * 5
    assert figures(owner, user) == (50, 0)
