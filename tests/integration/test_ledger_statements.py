"""What the hot paths send to PostgreSQL: GetBalance one SELECT, a deposit or withdrawal one
statement alone (on the event loop's asyncpg connections), and a transfer's accounts
locked in one statement in id order (whatever plan PostgreSQL picks, so opposite
transfers cannot lock in opposite orders)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, text

from tests.support.loop_queries import LoopQueries
from tests.support.money import Money, money_on, new_user, service_principal
from user_service import deadlines

SERVICE = service_principal()


@pytest.fixture(scope="module")
def money(service_database_url) -> Iterator[Money]:
    with money_on(service_database_url, pool_size=1, on_loop_connect=LoopQueries.watch) as made:
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
    money.balances.get_balance(SERVICE, str(user))  # prepared once per connection
    LoopQueries.clear()

    money.balances.get_balance(SERVICE, str(user))

    [statement] = LoopQueries.sent  # alone: no BEGIN before it, no ROLLBACK after
    assert statement.startswith("SELECT")


@pytest.mark.parametrize("kind", ["deposit", "withdraw"])
def test_a_deposit_or_withdrawal_is_one_statement_alone_one_round_trip(money, engine, kind):
    user = new_user(engine)
    money.balances.deposit(SERVICE, user_id=str(user), amount=10, request_id=uuid.uuid4().hex, description="")
    LoopQueries.clear()

    getattr(money.balances, kind)(
        SERVICE, user_id=str(user), amount=5, request_id=uuid.uuid4().hex, description=""
    )

    # Alone: PostgreSQL commits as the statement ends, and releases the row lock with it.
    [statement] = LoopQueries.sent
    assert statement.startswith("WITH changed AS ( UPDATE accounts")
    assert "INSERT INTO ledger_transactions" in statement
    assert "INSERT INTO audit_events" in statement


def test_a_short_deadline_bounds_a_deposits_waits_in_its_own_transaction(money, engine):
    user = new_user(engine)
    LoopQueries.clear()

    with deadlines.call_deadline(0.5):
        money.balances.deposit(
            SERVICE, user_id=str(user), amount=5, request_id=uuid.uuid4().hex, description=""
        )

    begin, timeouts, statement, commit = LoopQueries.sent
    assert (begin, commit) == ("BEGIN;", "COMMIT;")
    assert timeouts.startswith("SELECT set_config('statement_timeout', $1, true)")
    statement_ms, lock_ms = (int(ms) for ms in LoopQueries.arguments[1])
    assert 0 < lock_ms <= statement_ms <= 500  # what is left of the call, not the connection's 5 s
    assert statement.startswith("WITH changed AS")


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
