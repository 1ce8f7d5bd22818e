"""The statement that settles a hold: the hold's status (only while it is active), its
account's balances, the capture's ledger row and the audit row, in one round trip.

If the hold is no longer active, the hold UPDATE changes nothing and so neither does
anything fed by it: a hold is settled once, however many callers race for it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, insert, literal, select, update

from user_service.domain.audit import AuditEvent
from user_service.domain.money import Account, Balance, Hold, HoldStatus, TransactionType
from user_service.storage.repositories.audit import audit_insert
from user_service.storage.repositories.money_rows import ACCOUNTS, HOLDS, LEDGER, Request

_CAPTURE_COLUMNS = (
    "account_id",
    "type",
    "amount",
    "balance_after",
    "request_id",
    "request_fingerprint",
    "description",
    "hold_id",
)


def settle_statement(
    hold: Hold, status: HoldStatus, audit: AuditEvent, capture: tuple[int, Request] | None
) -> Select[Any]:
    """Columns: hold_time, the balance's (balance_columns), and for a capture the ledger row's."""
    captured = capture[0] if capture else 0
    settled = (
        update(HOLDS)
        .where(HOLDS.c.id == hold.id, HOLDS.c.status == HoldStatus.ACTIVE.value)
        .values(status=status.value, captured_amount=captured, update_time=func.clock_timestamp())
        .returning(HOLDS.c.id, HOLDS.c.account_id, HOLDS.c.amount, HOLDS.c.update_time)
        .cte("settled")
    )
    changed = (
        update(ACCOUNTS)
        .where(ACCOUNTS.c.id == settled.c.account_id)
        .values(
            held=ACCOUNTS.c.held - settled.c.amount,
            available=ACCOUNTS.c.available + settled.c.amount - captured,
            update_time=func.now(),
        )
        .returning(*ACCOUNTS.c)
        .cte("changed")
    )
    statement = select(settled.c.update_time.label("hold_time"), *balance_columns(changed)).select_from(
        settled.join(changed, changed.c.id == settled.c.account_id)
    )
    if capture is None:
        return statement.add_cte(audit_insert(audit, settled, hold_id=settled.c.id).cte("audited"))
    entry = (
        insert(LEDGER)
        .from_select(
            [*_CAPTURE_COLUMNS],
            select(
                changed.c.id,
                literal(TransactionType.HOLD_CAPTURE.value),
                literal(-captured),
                changed.c.available + changed.c.held,
                literal(capture[1].id),
                literal(capture[1].fingerprint),
                literal(hold.reference),  # a capture's description: the order it paid for
                literal(hold.id),
            ),
            include_defaults=False,
        )
        .returning(*LEDGER.c)
        .cte("entry")
    )
    return (
        statement.add_columns(entry.c.id, entry.c.type, entry.c.amount, entry.c.balance_after)
        .add_columns(entry.c.request_id, entry.c.description, entry.c.hold_id)
        .add_columns(entry.c.create_time, entry.c.transfer_id)
        .join(entry, entry.c.account_id == changed.c.id)
        .add_cte(
            audit_insert(audit, entry, hold_id=entry.c.hold_id, transaction_id=entry.c.id).cte("audited")
        )
    )


def balance_columns(changed: Any) -> list[Any]:
    """An account CTE's balance, under names that clash with no hold or ledger column."""
    return [
        changed.c.available.label("balance_available"),
        changed.c.held.label("balance_held"),
        changed.c.update_time.label("balance_time"),
    ]


def balance(row: Any, account: Account) -> Balance:
    return Balance(
        account.user_id, account.currency, row.balance_available, row.balance_held, row.balance_time
    )
