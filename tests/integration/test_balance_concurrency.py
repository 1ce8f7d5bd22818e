"""Money under concurrency, with real connections from many threads to a database of this
module's own (so that reconciliation sees only what these tests did): a hot account,
opposite transfers, the same request_id sent at once, paging while rows are written, and
a random mixed workload whose totals must come out exact."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, text

from tests.support.databases import as_role, temporary_database
from tests.support.money import Money, figures, money_on, new_user, service_principal
from user_service.domain.errors import UserServiceError
from user_service.storage.database import make_engine

T = TypeVar("T")
THREADS = 16
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
    with money_on(database[0], pool_size=THREADS) as made:
        yield made


@pytest.fixture(scope="module")
def impatient(database) -> Iterator[Money]:
    """No retries inside the service: a deadlock or lock timeout reaches the caller."""
    with money_on(database[0], pool_size=THREADS, conflict_retries=0) as made:
        yield made


def at_once(calls: list[Callable[[], T]]) -> list[T | UserServiceError]:
    """Run every call on its own thread, released together; results (or domain errors) in order."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T | UserServiceError:
        start.wait()
        try:
            return call()
        except UserServiceError as error:
            return error

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def deposit(money: Money, user: uuid.UUID, amount: int, request_id: str | None = None) -> Any:
    return money.balances.deposit(
        SERVICE, user_id=str(user), amount=amount, request_id=request_id or uuid.uuid4().hex, description=""
    )


def test_one_hot_account_takes_64_concurrent_deposits_of_one(money, owner):
    user = new_user(owner)

    with ThreadPoolExecutor(THREADS) as pool:
        posted = list(pool.map(lambda _: deposit(money, user, 1), range(64)))

    assert figures(owner, user) == (64, 0)
    # Each deposit saw the one before it: the balances after are 1..64, each once.
    assert sorted(p.transaction.balance_after for p in posted) == list(range(1, 65))
    assert sorted(p.transaction.balance_after for p in posted) == [
        p.transaction.balance_after for p in sorted(posted, key=lambda p: p.transaction.id)
    ]


def test_opposite_transfers_all_complete_without_a_deadlock(impatient, owner):
    a, b = new_user(owner), new_user(owner)
    deposit(impatient, a, 1000)
    deposit(impatient, b, 1000)

    def transfer(payer: uuid.UUID, payee: uuid.UUID) -> Callable[[], Any]:
        return lambda: impatient.transfers.transfer(
            SERVICE,
            from_user_id=str(payer),
            to_user_id=str(payee),
            amount=3,
            request_id=uuid.uuid4().hex,
            description="",
        )

    for _ in range(5):
        results = at_once([transfer(a, b), transfer(b, a)] * (THREADS // 2))
        assert [r for r in results if isinstance(r, UserServiceError)] == []

    assert figures(owner, a) == figures(owner, b) == (1000, 0)
    assert impatient.reconcile().clean


def same_request_calls(money: Money, user: uuid.UUID, payee: uuid.UUID) -> dict[str, Callable[[], Any]]:
    request_id = uuid.uuid4().hex
    hold = money.holds.reserve(
        SERVICE, user_id=str(user), amount=50, request_id=uuid.uuid4().hex, reference="order", ttl=None
    ).hold
    return {
        "deposit": lambda: deposit(money, user, 7, request_id + "d"),
        "withdraw": lambda: money.balances.withdraw(
            SERVICE, user_id=str(user), amount=5, request_id=request_id + "w", description=""
        ),
        "transfer": lambda: money.transfers.transfer(
            SERVICE,
            from_user_id=str(user),
            to_user_id=str(payee),
            amount=4,
            request_id=request_id + "t",
            description="",
        ),
        "reserve": lambda: money.holds.reserve(
            SERVICE, user_id=str(user), amount=3, request_id=request_id + "r", reference="", ttl=None
        ),
        "capture": lambda: money.holds.capture(
            SERVICE, hold_id=str(hold.id), amount=20, request_id=request_id + "c"
        ),
    }


def identity(result: Any) -> Any:
    """What names a result: the ledger row's id, or the hold's."""
    for name in ("transaction", "from_transaction", "hold"):
        if hasattr(result, name):
            return getattr(result, name).id
    return result


@pytest.mark.parametrize("call", ["deposit", "withdraw", "transfer", "reserve", "capture"])
def test_the_same_request_sent_from_several_threads_at_once_is_applied_once(money, owner, call):
    user, payee = new_user(owner), new_user(owner)
    deposit(money, user, 100)
    send = same_request_calls(money, user, payee)[call]
    before = figures(owner, user)

    results = at_once([send] * 8)

    assert not [r for r in results if isinstance(r, UserServiceError)]
    assert len({identity(r) for r in results}) == 1
    change = {
        "deposit": (7, 0),
        "withdraw": (-5, 0),
        "transfer": (-4, 0),
        "reserve": (-3, 3),
        "capture": (30, -50),
    }
    assert figures(owner, user) == (before[0] + change[call][0], before[1] + change[call][1])


def test_paging_while_rows_are_written_returns_every_row_once(money, owner):
    user = new_user(owner)
    with ThreadPoolExecutor(THREADS) as pool:
        existing = {p.transaction.id for p in pool.map(lambda _: deposit(money, user, 1), range(120))}
    writing = threading.Event()
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            deposit(money, user, 1)
            writing.set()

    writers = [threading.Thread(target=write) for _ in range(3)]
    for writer in writers:
        writer.start()
    writing.wait(10)
    seen: list[int] = []
    token = ""
    try:
        while True:
            page = money.balances.list_transactions(
                SERVICE, user_id=str(user), page_size=7, page_token=token, kind=None
            )
            seen += [row.id for row in page.transactions]
            token = page.next_page_token
            if not token:
                break
    finally:
        stop.set()
        for writer in writers:
            writer.join(10)

    assert len(seen) == len(set(seen))
    assert seen == sorted(seen, reverse=True)
    assert existing <= set(seen)


def test_a_random_mixed_workload_conserves_money_and_reconciles(money, owner):
    """Deposits, withdrawals, transfers, reservations, captures and releases on a few
    accounts from many threads, a third of the calls sent twice at the same moment."""
    users = [new_user(owner) for _ in range(4)]
    holds: list[uuid.UUID] = []
    lock = threading.Lock()
    applied: dict[tuple[str, str], Any] = {}  # (kind, request_id) -> what it returned

    def operation(rng: random.Random) -> tuple[str, str, Callable[[], Any]]:
        user, other = rng.sample(users, 2)
        amount, request_id = rng.randint(1, 60), uuid.uuid4().hex
        kind = rng.choice(["deposit", "deposit", "withdraw", "transfer", "reserve", "capture", "release"])
        with lock:
            hold = str(rng.choice(holds)) if holds else None
        if hold is None and kind in ("capture", "release"):
            kind = "deposit"
        calls: dict[str, Callable[[], Any]] = {
            "deposit": lambda: deposit(money, user, amount, request_id),
            "withdraw": lambda: money.balances.withdraw(
                SERVICE, user_id=str(user), amount=amount, request_id=request_id, description=""
            ),
            "transfer": lambda: money.transfers.transfer(
                SERVICE, from_user_id=str(user), to_user_id=str(other), amount=amount, request_id=request_id,
                description="",
            ),
            "reserve": lambda: money.holds.reserve(
                SERVICE, user_id=str(user), amount=amount, request_id=request_id, reference="", ttl=None
            ),
            "capture": lambda: money.holds.capture(
                SERVICE, hold_id=str(hold), amount=amount // 2, request_id=request_id
            ),
            "release": lambda: money.holds.release(SERVICE, str(hold)),
        }  # fmt: skip
        return kind, request_id, calls[kind]

    def worker(seed: int) -> None:
        rng = random.Random(seed)  # noqa: S311  (a workload, not a secret)
        for _ in range(25):
            kind, request_id, call = operation(rng)
            results = at_once([call, call]) if rng.random() < 0.3 else [_try(call)]
            for result in results:
                if isinstance(result, UserServiceError):
                    assert result.reason in ("INSUFFICIENT_FUNDS", "HOLD_NOT_ACTIVE", "INVALID_AMOUNT")
                    continue
                balance = getattr(result, "balance", None) or result.from_balance
                assert balance.available >= 0
                assert balance.held >= 0
                with lock:
                    if kind == "reserve":
                        holds.append(result.hold.id)
                    if kind != "release":  # every send of one request_id got the same result
                        assert identity(applied.setdefault((kind, request_id), result)) == identity(result)

    for user in users:
        deposit(money, user, 200)
    with ThreadPoolExecutor(12) as pool:
        list(pool.map(worker, range(12)))

    # The callers' view: each request_id counted once, by what it returned.
    moved = {
        "deposit": sum(r.transaction.amount for (kind, _), r in applied.items() if kind == "deposit"),
        "withdrawn": -sum(r.transaction.amount for (kind, _), r in applied.items() if kind == "withdraw"),
        "captured": -sum(r.transaction.amount for (kind, _), r in applied.items() if kind == "capture"),
    }
    assert sum(sum(figures(owner, user)) for user in users) == (
        4 * 200 + moved["deposit"] - moved["withdrawn"] - moved["captured"]
    )
    assert all(min(figures(owner, user)) >= 0 for user in users)
    assert money.reconcile().clean
    with owner.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT count(*) FROM ledger_transactions l JOIN accounts a ON a.id = l.account_id"
                " WHERE a.user_id = ANY(:users)"
            ),
            {"users": users},
        ).scalar_one()
        made = connection.execute(
            text(
                "SELECT count(*) FROM holds h JOIN accounts a ON a.id = h.account_id"
                " WHERE a.user_id = ANY(:users)"
            ),
            {"users": users},
        ).scalar_one()
    # One ledger row per applied request_id (two per transfer), one hold per reservation.
    counts = {kind: sum(1 for key in applied if key[0] == kind) for kind in ("transfer", "reserve")}
    movements = sum(1 for key in applied if key[0] in ("deposit", "withdraw", "capture"))
    assert rows == 4 + movements + 2 * counts["transfer"]
    assert made == counts["reserve"] == len(set(holds))
    assert min(counts.values()) > 0


def _try(call: Callable[[], T]) -> T | UserServiceError:
    try:
        return call()
    except UserServiceError as error:
        return error


def test_capture_and_release_racing_for_one_hold_settle_it_once_without_a_deadlock(impatient, owner):
    """Every path locks the account, then the hold; one that locked the hold first would
    deadlock against one that did not."""
    user = new_user(owner)
    deposit(impatient, user, 10_000)
    for _ in range(10):
        hold = impatient.holds.reserve(
            SERVICE, user_id=str(user), amount=100, request_id=uuid.uuid4().hex, reference="", ttl=None
        ).hold

        def capture(hold_id: str = str(hold.id)) -> Any:
            return impatient.holds.capture(SERVICE, hold_id=hold_id, amount=40, request_id=uuid.uuid4().hex)

        def release(hold_id: str = str(hold.id)) -> Any:
            return impatient.holds.release(SERVICE, hold_id)

        results = at_once([capture, release] * 4)

        failures = {r.reason for r in results if isinstance(r, UserServiceError)}
        assert failures <= {"HOLD_NOT_ACTIVE"}
        captures = {r.transaction.id for r in results if hasattr(r, "transaction")}
        assert len(captures) <= 1
        assert {r.hold.status for r in results if not isinstance(r, UserServiceError)} in (
            {"captured"},
            {"released"},
        )
    assert impatient.reconcile().clean
    assert figures(owner, user)[1] == 0


def test_spending_one_balance_from_many_threads_never_overdraws_it(money, owner):
    """24 calls of 10 against 100: exactly 10 succeed, the rest are INSUFFICIENT_FUNDS
    (with the figures they saw), and nothing fails any other way."""
    user, payee = new_user(owner), new_user(owner)
    deposit(money, user, 100)

    def spend(kind: str) -> Callable[[], Any]:
        calls = {
            "withdraw": lambda: money.balances.withdraw(
                SERVICE, user_id=str(user), amount=10, request_id=uuid.uuid4().hex, description=""
            ),
            "transfer": lambda: money.transfers.transfer(
                SERVICE, from_user_id=str(user), to_user_id=str(payee), amount=10,
                request_id=uuid.uuid4().hex, description="",
            ),
            "reserve": lambda: money.holds.reserve(
                SERVICE, user_id=str(user), amount=10, request_id=uuid.uuid4().hex, reference="", ttl=None
            ),
        }  # fmt: skip
        return calls[kind]

    results = at_once([spend(kind) for kind in ("withdraw", "transfer", "reserve") * 8])

    refused = [r for r in results if isinstance(r, UserServiceError)]
    assert len(refused) == 14
    assert {r.reason for r in refused} == {"INSUFFICIENT_FUNDS"}
    assert all(int(r.metadata["available"]) < 10 and r.metadata["requested"] == "10" for r in refused)
    reserved = sum(1 for r in results if hasattr(r, "hold"))
    assert figures(owner, user) == (0, 10 * reserved)
    assert money.reconcile().clean


def test_money_never_moves_on_an_account_closed_while_the_call_waited(money, owner):
    """DeleteUser closes the accounts it has locked; calls queued behind that lock must
    find the account closed (USER_NOT_FOUND), not move money onto it."""
    user, payer = new_user(owner), new_user(owner)
    deposit(money, payer, 100)
    calls: list[Callable[[], Any]] = [
        lambda: deposit(money, user, 5),
        lambda: deposit(money, user, 6),
        lambda: money.transfers.transfer(
            SERVICE, from_user_id=str(payer), to_user_id=str(user), amount=7, request_id=uuid.uuid4().hex,
            description="",
        ),
    ]  # fmt: skip
    with owner.connect() as deleting, ThreadPoolExecutor(len(calls)) as pool:
        deleting.execute(text("SELECT id FROM accounts WHERE user_id = :u FOR UPDATE"), {"u": user})
        waiting = [pool.submit(_try, call) for call in calls]
        deadline = time.monotonic() + 30
        while lock_waits(owner) < len(calls):  # every call queued behind the deletion's lock
            assert time.monotonic() < deadline, "the calls never waited for the lock"
            time.sleep(0.01)
        deleting.execute(text("UPDATE accounts SET close_time = now() WHERE user_id = :u"), {"u": user})
        deleting.commit()
        results = [future.result(timeout=30) for future in waiting]

    assert [getattr(r, "reason", r) for r in results] == ["USER_NOT_FOUND"] * 3
    assert figures(owner, user) == (0, 0)
    assert figures(owner, payer) == (100, 0)


def lock_waits(owner: Engine) -> int:
    with owner.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )
