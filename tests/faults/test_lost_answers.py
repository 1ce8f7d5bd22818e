"""Money moved whose commit's answer never reached the service (the network or PostgreSQL
gone between COMMIT and its reply): the money moves once, and a call with the same
request_id hears the movement that landed. Every connection of the handlers goes through
a LostAnswers proxy, which drops the answer of the commit that follows the request holding
a given request_id. (Deposits that go together: tests/integration/test_deposit_batches.py.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from tests.support.lost_answers import LostAnswers, behind_lost_answers
from tests.support.money import Money, ledger, money_on, new_user, service_principal
from user_service.storage.errors import DatabaseUnavailable

SERVICE = service_principal()


@pytest.fixture(scope="module")
def lossy(module_database) -> Iterator[tuple[Money, LostAnswers]]:
    with behind_lost_answers(module_database.service_url) as (url, proxy), money_on(url, pool_size=2) as made:
        yield made, proxy


def payer_and_payee(money: Money, owner: Engine, opening: int) -> tuple[uuid.UUID, uuid.UUID]:
    """A payer with `opening` in the account, and a payee with nothing."""
    payer, payee = new_user(owner), new_user(owner)
    money.balances.deposit(SERVICE, user_id=str(payer), amount=opening, request_id="opening", description="")
    return payer, payee


# The payer can pay once more after the lost one (the retry meets its request_id in the
# ledger's unique index), or only the once (the retry meets the balance guard first).
OPENINGS = pytest.mark.parametrize("opening", [10, 4], ids=["could-pay-twice", "could-pay-once"])


@OPENINGS
def test_a_withdrawal_whose_answer_was_lost_lands_once_and_its_caller_hears_it(
    lossy, module_database, opening
):
    money, proxy = lossy
    payer, _ = payer_and_payee(money, module_database.owner, opening)
    lost = proxy.lost
    proxy.lose(carrying="lost-withdrawal")

    # Committed alone in autocommit; sent again on a new connection, it finds its own row.
    posted = money.balances.withdraw(
        SERVICE, user_id=str(payer), amount=4, request_id="lost-withdrawal", description="lost"
    )

    assert proxy.lost == lost + 1
    assert ledger(module_database.owner, payer) == [
        (opening, opening, "opening"),
        (-4, opening - 4, "lost-withdrawal"),
    ]
    assert (posted.transaction.request_id, posted.transaction.balance_after) == (
        "lost-withdrawal",
        opening - 4,
    )
    assert posted.balance.available == opening - 4
    assert money.reconcile().clean


@OPENINGS
def test_a_transfer_whose_commit_answer_was_lost_is_unavailable_then_heard_on_retry(
    lossy, module_database, opening
):
    money, proxy = lossy
    payer, payee = payer_and_payee(money, module_database.owner, opening)

    def transfer():
        return money.transfers.transfer(
            SERVICE,
            from_user_id=str(payer),
            to_user_id=str(payee),
            amount=4,
            request_id="lost-transfer",
            description="",
        )

    lost = proxy.lost
    proxy.lose(carrying="lost-transfer")
    # Its COMMIT's answer lost: the commit may have happened, so the service does not run
    # the transaction again; the caller hears UNAVAILABLE and retries with the request_id.
    with pytest.raises(DatabaseUnavailable):
        transfer()
    assert proxy.lost == lost + 1
    moved = transfer()

    owner = module_database.owner
    assert ledger(owner, payer) == [(opening, opening, "opening"), (-4, opening - 4, "lost-transfer")]
    assert ledger(owner, payee) == [(4, 4, "lost-transfer")]
    assert moved.from_transaction.request_id == moved.to_transaction.request_id == "lost-transfer"
    assert (moved.from_transaction.balance_after, moved.to_transaction.balance_after) == (opening - 4, 4)
    assert moved.from_balance.available == opening - 4
    assert money.reconcile().clean


def test_a_hold_and_its_capture_whose_commit_answers_were_lost_each_move_once(lossy, module_database):
    money, proxy = lossy
    payer, _ = payer_and_payee(money, module_database.owner, 10)

    def reserve():
        return money.holds.reserve(
            SERVICE, user_id=str(payer), amount=4, request_id="lost-hold", reference="order", ttl=None
        )

    def capture(hold_id: uuid.UUID):
        return money.holds.capture(SERVICE, hold_id=str(hold_id), amount=3, request_id="lost-capture")

    lost = proxy.lost
    proxy.lose(carrying="lost-hold")
    with pytest.raises(DatabaseUnavailable):
        reserve()
    held = reserve()
    proxy.lose(carrying="lost-capture")
    with pytest.raises(DatabaseUnavailable):
        capture(held.hold.id)
    captured = capture(held.hold.id)

    assert proxy.lost == lost + 2
    assert held.hold.amount == 4
    assert holds_of(module_database.owner, payer) == [(held.hold.id, "captured", 4, 3)]
    assert ledger(module_database.owner, payer) == [(10, 10, "opening"), (-3, 7, "lost-capture")]
    assert captured.transaction.request_id == "lost-capture"
    assert (captured.balance.available, captured.balance.held) == (7, 0)
    assert money.reconcile().clean


def holds_of(owner: Engine, user: uuid.UUID) -> list[tuple[uuid.UUID, str, int, int]]:
    """The user's holds: (id, status, amount, captured_amount)."""
    with owner.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT h.id, h.status, h.amount, h.captured_amount FROM holds h"
                " JOIN accounts a ON a.id = h.account_id WHERE a.user_id = :id ORDER BY h.create_time"
            ),
            {"id": user},
        )
        return [(row.id, row.status, row.amount, row.captured_amount) for row in rows]
