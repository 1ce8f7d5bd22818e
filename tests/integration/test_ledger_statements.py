"""What the hot paths send to PostgreSQL: GetBalance one SELECT, a deposit or withdrawal one
statement and its COMMIT, and a transfer's accounts locked in one statement in id order
(whatever plan PostgreSQL picks, so opposite transfers cannot lock in opposite orders)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import psycopg2.extensions
import pytest
from sqlalchemy import event, text

from tests.support.money import Money, money_on, new_user, service_principal
from user_service import deadlines

SERVICE = service_principal()


class DriverCursor(psycopg2.extensions.cursor):
    """Records each statement psycopg2 sends, and whether it went alone (autocommit: one
    round trip) or inside a transaction (psycopg2 sends BEGIN first, and it ends later)."""

    sent: ClassVar[list[tuple[str, bool]]] = []

    def execute(self, query: Any, vars: Any = None) -> Any:
        DriverCursor.sent.append((" ".join(str(query).split()), self.connection.autocommit))
        return super().execute(query, vars)


@pytest.fixture(scope="module")
def money(service_database_url) -> Iterator[Money]:
    with money_on(service_database_url, pool_size=1, connect_args={"cursor_factory": DriverCursor}) as made:
        made.transactions.run(lambda uow: uow.session.execute(text("SELECT 1")))  # connected, once
        yield made


@pytest.fixture
def sent(money) -> Iterator[list[str]]:
    """The statements the engine sends from here on (COMMIT included)."""
    statements: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()))

    def committed(_connection: Any) -> None:
        statements.append("COMMIT")

    event.listen(money.engine, "before_cursor_execute", record)
    event.listen(money.engine, "commit", committed)
    yield statements
    event.remove(money.engine, "before_cursor_execute", record)
    event.remove(money.engine, "commit", committed)


def test_get_balance_is_one_select_alone_one_round_trip(money, engine):
    user = new_user(engine)
    DriverCursor.sent.clear()

    money.balances.get_balance(SERVICE, str(user))

    assert len(DriverCursor.sent) == 1, DriverCursor.sent
    statement, alone = DriverCursor.sent[0]
    assert statement.startswith("SELECT")
    assert alone  # autocommit: no BEGIN before it, no ROLLBACK after


@pytest.mark.parametrize("kind", ["deposit", "withdraw"])
def test_a_deposit_or_withdrawal_is_one_statement_alone_one_round_trip(money, engine, kind):
    user = new_user(engine)
    money.balances.deposit(SERVICE, user_id=str(user), amount=10, request_id=uuid.uuid4().hex, description="")
    DriverCursor.sent.clear()

    getattr(money.balances, kind)(
        SERVICE, user_id=str(user), amount=5, request_id=uuid.uuid4().hex, description=""
    )

    assert len(DriverCursor.sent) == 1, DriverCursor.sent
    statement, alone = DriverCursor.sent[0]
    assert statement.startswith("WITH changed AS ( UPDATE accounts")
    assert "INSERT INTO ledger_transactions" in statement
    assert "INSERT INTO audit_events" in statement
    assert alone  # autocommit: PostgreSQL commits as the statement ends, the row lock with it


def test_a_short_deadline_bounds_a_deposits_waits_in_the_same_round_trip(money, engine):
    user = new_user(engine)
    DriverCursor.sent.clear()

    with deadlines.call_deadline(0.5):
        money.balances.deposit(
            SERVICE, user_id=str(user), amount=5, request_id=uuid.uuid4().hex, description=""
        )

    [(statement, alone)] = DriverCursor.sent
    assert re.match(
        r"SET LOCAL statement_timeout = \d+; SET LOCAL lock_timeout = \d+; WITH changed AS", statement
    )
    assert alone


def test_a_transfer_locks_both_accounts_in_one_statement_in_id_order(money, engine, sent):
    a, b = new_user(engine), new_user(engine)
    money.balances.deposit(SERVICE, user_id=str(a), amount=10, request_id=uuid.uuid4().hex, description="")
    sent.clear()

    money.transfers.transfer(
        SERVICE, from_user_id=str(a), to_user_id=str(b), amount=5, request_id=uuid.uuid4().hex, description=""
    )

    locks = [s for s in sent if "FOR UPDATE" in s]
    assert len(locks) == 1
    assert re.search(r"ORDER BY accounts\.id FOR UPDATE$", locks[0]), locks[0]
    assert len(sent) == 3  # the lock, one statement for both balances, legs and audit, COMMIT
