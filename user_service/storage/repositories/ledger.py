"""The ledger's writes: deposits, withdrawals and transfers, each with its balance change
and its audit row (reads are in history.py, captures in hold_settlement.py).

A deposit or withdrawal is one statement: a guarded `UPDATE accounts ... RETURNING` (which
takes the account's row lock), the ledger INSERT fed by it, and the audit INSERT fed by
that. A request_id seen before makes the INSERT fail on its unique index, after the other
call committed: DuplicateRequest, and the caller reads what that call wrote.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import case, func, insert, literal, select, update
from sqlalchemy.orm import Session

from user_service.domain.audit import AuditEvent
from user_service.domain.money import Account, Posted, TransactionType, Transferred
from user_service.storage.repositories import money_rows
from user_service.storage.repositories.audit import audit_insert
from user_service.storage.repositories.money_rows import (
    ACCOUNTS,
    LEDGER,
    LockedAccount,
    Request,
    duplicates_refused,
)

_ENTRY_COLUMNS = ("account_id", "type", "amount", "balance_after", "request_id", "request_fingerprint")
_RETURNED = (LEDGER.c.id, LEDGER.c.account_id, LEDGER.c.type, LEDGER.c.amount, LEDGER.c.balance_after)
_RETURNED_TOO = (
    LEDGER.c.request_id,
    LEDGER.c.description,
    LEDGER.c.hold_id,
    LEDGER.c.create_time,
    LEDGER.c.transfer_id,
)


class LedgerRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def post(
        self, account: Account, amount: int, request: Request, description: str, audit: AuditEvent
    ) -> Posted | None:
        """A deposit (amount > 0) or a withdrawal (amount < 0, only while available covers
        it). None when nothing was written: an unknown user, a closed account (a deleted
        user's), or too little money."""
        kind = TransactionType.DEPOSIT if amount > 0 else TransactionType.WITHDRAWAL
        guard = [
            ACCOUNTS.c.user_id == account.user_id,
            ACCOUNTS.c.currency == account.currency,
            ACCOUNTS.c.close_time.is_(None),
        ]
        if amount < 0:
            guard.append(ACCOUNTS.c.available >= -amount)
        changed = _returning_balance(
            update(ACCOUNTS)
            .where(*guard)
            .values(available=ACCOUNTS.c.available + amount, update_time=func.now())
        ).cte("changed")
        entry = (
            insert(LEDGER)
            .from_select(
                [*_ENTRY_COLUMNS, "description"],
                select(
                    changed.c.id,
                    literal(kind.value),
                    literal(amount),
                    changed.c.available + changed.c.held,
                    literal(request.id),
                    literal(request.fingerprint),
                    literal(description),
                ),
                include_defaults=False,
            )
            .returning(*_RETURNED, *_RETURNED_TOO)
            .cte("entry")
        )
        statement = (
            select(changed.c.user_id, changed.c.currency, changed.c.available, changed.c.held)
            .add_columns(changed.c.update_time, *entry.c)
            .select_from(changed.join(entry, entry.c.account_id == changed.c.id))
            .add_cte(audit_insert(audit, entry, transaction_id=entry.c.id).cte("audited"))
        )
        with duplicates_refused():
            row = self._session.connection().execute(statement).one_or_none()
        if row is None:
            return None
        return Posted(money_rows.transaction(row, row.user_id, row.currency, None), money_rows.balance(row))

    def transfer(
        self,
        payer: LockedAccount,
        payee: LockedAccount,
        amount: int,
        request: Request,
        *,
        description: str,
        audit: AuditEvent,
    ) -> Transferred:
        """Both balances and both legs (sharing a new transfer_id) in one statement, on two
        accounts this transaction has locked; the credit carries the payer's request_id."""
        is_payer = ACCOUNTS.c.id == payer.id
        moved = _returning_balance(
            update(ACCOUNTS)
            .where(ACCOUNTS.c.id.in_([payer.id, payee.id]))
            .values(
                available=ACCOUNTS.c.available + case((is_payer, -amount), else_=amount),
                update_time=func.now(),
            )
        ).cte("moved")
        paying = moved.c.id == payer.id
        legs = (
            insert(LEDGER)
            .from_select(
                [*_ENTRY_COLUMNS, "description", "counterparty_account_id", "transfer_id"],
                select(
                    moved.c.id,
                    case(
                        (paying, TransactionType.TRANSFER_OUT.value), else_=TransactionType.TRANSFER_IN.value
                    ),
                    case((paying, -amount), else_=amount),
                    moved.c.available + moved.c.held,
                    literal(request.id),
                    literal(request.fingerprint),
                    literal(description),
                    case((paying, payee.id), else_=payer.id),
                    literal(uuid.uuid4()),
                ),
                include_defaults=False,
            )
            .returning(*_RETURNED, *_RETURNED_TOO)
            .cte("legs")
        )
        debit = legs.select().where(legs.c.amount < 0).subquery()
        statement = (
            select(moved.c.user_id, moved.c.currency, moved.c.available, moved.c.held)
            .add_columns(moved.c.update_time, *legs.c)
            .select_from(moved.join(legs, legs.c.account_id == moved.c.id))
            .add_cte(audit_insert(audit, debit, transaction_id=debit.c.id).cte("audited"))
        )
        with duplicates_refused():
            rows = {row.account_id: row for row in self._session.connection().execute(statement)}
        out, into = rows[payer.id], rows[payee.id]
        return Transferred(
            money_rows.transaction(out, payer.user_id, payer.currency, payee.user_id),
            money_rows.transaction(into, payee.user_id, payee.currency, payer.user_id),
            money_rows.balance(out),
        )


def _returning_balance(statement: Any) -> Any:
    return statement.returning(
        ACCOUNTS.c.id,
        ACCOUNTS.c.user_id,
        ACCOUNTS.c.currency,
        ACCOUNTS.c.available,
        ACCOUNTS.c.held,
        ACCOUNTS.c.update_time,
    )
