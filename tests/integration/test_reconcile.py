"""Reconciliation finds what was changed behind the ledger's back. Each test corrupts a
database of its own, as its owner (the service's role could not: no UPDATE on the ledger,
no right to disable its trigger)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, text

from tests.support.databases import as_role, temporary_database
from tests.support.money import Money, money_on, new_user, service_principal
from tests.support.server_process import TEST_JWT_SECRET, run_cli, service_env
from user_service.storage.database import make_engine

SERVICE = service_principal()


@dataclass
class Books:
    owner: Engine
    money: Money
    env: dict[str, str]
    user: uuid.UUID
    hold: uuid.UUID

    def account(self) -> uuid.UUID:
        with self.owner.connect() as connection:
            return uuid.UUID(
                str(
                    connection.execute(
                        text("SELECT id FROM accounts WHERE user_id = :u"), {"u": self.user}
                    ).scalar_one()
                )
            )

    def tamper(self, *statements: str) -> None:
        with self.owner.begin() as connection:
            for statement in statements:
                connection.execute(text(statement), {"u": self.user, "h": self.hold})


@pytest.fixture
def books(service_role, tmp_path) -> Iterator[Books]:
    """A database with some honest activity on two users: a deposit, a transfer, a
    withdrawal, a captured hold and an active one."""
    with temporary_database(migrated=True, service_role=service_role) as url:
        owner = make_engine(url, pool_size=1)
        service_url = as_role(url, service_role)
        with money_on(service_url, pool_size=2) as money:
            user, other = new_user(owner), new_user(owner)

            def call(method, **arguments):
                return method(SERVICE, request_id=uuid.uuid4().hex, **arguments)

            call(money.balances.deposit, user_id=str(user), amount=500, description="")
            call(
                money.transfers.transfer,
                from_user_id=str(user),
                to_user_id=str(other),
                amount=50,
                description="",
            )
            call(money.balances.withdraw, user_id=str(user), amount=20, description="")
            captured = call(money.holds.reserve, user_id=str(user), amount=40, reference="", ttl=None).hold
            call(money.holds.capture, hold_id=str(captured.id), amount=25)
            active = call(money.holds.reserve, user_id=str(user), amount=30, reference="", ttl=None).hold
            env = service_env(
                DATABASE_URL=service_url, JWT_SECRET=TEST_JWT_SECRET, DATA_DIR=str(tmp_path / ".data")
            )
            yield Books(owner, money, env, user, active.id)
        owner.dispose()


def test_honest_books_reconcile(books):
    report = books.money.reconcile()

    assert report.clean
    assert (report.accounts_checked, report.holds_checked, report.mismatched_accounts) == (2, 2, 0)
    ran = run_cli(["reconcile"], books.env)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.strip() == "checked 2 accounts and 2 holds: 0 disagreements in 0 accounts"


def test_a_ledger_row_altered_behind_its_back_is_caught(books):
    books.tamper(
        "ALTER TABLE ledger_transactions DISABLE TRIGGER ledger_transactions_append_only",
        "UPDATE ledger_transactions SET amount = 600 WHERE type = 'deposit'"
        " AND account_id = (SELECT id FROM accounts WHERE user_id = :u)",
        "ALTER TABLE ledger_transactions ENABLE TRIGGER ledger_transactions_append_only",
    )

    report = books.money.reconcile()

    assert report.mismatched_accounts == 1
    assert [str(d) for d in report.disagreements] == [
        f"account {books.account()}: available + held is 405, its ledger sums to 505"
    ]
    ran = run_cli(["reconcile"], books.env)
    assert ran.returncode == 1
    assert f"account {books.account()}: available + held is 405, its ledger sums to 505" in ran.stdout
    assert "1 disagreements in 1 accounts" in ran.stdout
    assert "@example.com" not in ran.stdout + ran.stderr


@pytest.mark.parametrize(
    ("statements", "problem"),
    [
        (
            ["UPDATE accounts SET available = available + 7 WHERE user_id = :u"],
            "available + held is 412, its ledger sums to 405"
            "|its newest ledger row has balance_after 405, available + held is 412",
        ),
        (
            ["UPDATE accounts SET available = available - 30, held = held + 30 WHERE user_id = :u"],
            "held is 60, its active holds sum to 30",
        ),
        (["UPDATE holds SET status = 'released' WHERE id = :h"], "held is 30, its active holds sum to 0"),
        (
            [
                "ALTER TABLE ledger_transactions DISABLE TRIGGER ledger_transactions_append_only",
                "UPDATE ledger_transactions SET balance_after = balance_after + 1 WHERE id ="
                " (SELECT max(id) FROM ledger_transactions WHERE account_id ="
                " (SELECT id FROM accounts WHERE user_id = :u))",
                "ALTER TABLE ledger_transactions ENABLE TRIGGER ledger_transactions_append_only",
            ],
            "its newest ledger row has balance_after 406, available + held is 405",
        ),
    ],
    ids=["balance-changed", "held-without-a-hold", "hold-status-changed", "balance-after-changed"],
)
def test_balances_that_disagree_with_their_ledger_or_holds_are_caught(books, statements, problem):
    books.tamper(*statements)

    report = books.money.reconcile()

    assert [str(d) for d in report.disagreements] == [
        f"account {books.account()}: {one}" for one in problem.split("|")
    ]


def test_a_captured_hold_without_its_capture_row_is_caught(books):
    books.tamper("UPDATE holds SET status = 'captured', captured_amount = 30 WHERE id = :h")

    problems = [str(d) for d in books.money.reconcile().disagreements]

    assert f"account {books.account()} hold {books.hold}: captured, with 0 capture rows" in "\n".join(
        problems
    )
