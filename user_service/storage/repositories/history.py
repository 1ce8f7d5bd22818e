"""Ledger rows read back: the row a request_id wrote, a transfer's two legs, and a
user's history a page at a time (newest first, keyset on the id, which rises in the
order an account's rows commit: a page never skips or repeats a row written meanwhile)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from user_service.domain.money import Account, Transaction, TransactionType
from user_service.storage.repositories import money_rows
from user_service.storage.repositories.money_rows import ACCOUNTS, LEDGER, Recorded

_COUNTERPARTY = ACCOUNTS.alias("counterparty")


class HistoryRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def find(self, account: Account, request_id: str) -> Recorded[Transaction] | None:
        """The row an earlier call with this request_id wrote on this account (a transfer's
        debit, not a credit that carries its payer's request_id)."""
        row = (
            self._session.connection()
            .execute(
                _transactions(account).where(
                    LEDGER.c.request_id == request_id, LEDGER.c.type != TransactionType.TRANSFER_IN.value
                )
            )
            .one_or_none()
        )
        return None if row is None else Recorded(row.request_fingerprint, _transaction(row))

    def transfer_legs(self, transfer_id: uuid.UUID) -> dict[TransactionType, Transaction]:
        rows = self._session.connection().execute(
            _transactions(None).where(LEDGER.c.transfer_id == transfer_id)
        )
        return {TransactionType(row.type): _transaction(row) for row in rows}

    def page(
        self, account: Account, before_id: int | None, kind: TransactionType | None, size: int
    ) -> list[Transaction]:
        """Up to `size` of an open account's rows, newest first, older than `before_id`."""
        statement = (
            _transactions(account)
            .where(ACCOUNTS.c.close_time.is_(None))
            .order_by(LEDGER.c.id.desc())
            .limit(size)
        )
        if before_id is not None:
            statement = statement.where(LEDGER.c.id < before_id)
        if kind is not None:
            statement = statement.where(LEDGER.c.type == kind.value)
        return [_transaction(row) for row in self._session.connection().execute(statement)]


def _transactions(account: Account | None) -> Select[Any]:
    statement = select(
        *LEDGER.c,
        ACCOUNTS.c.user_id.label("owner_user_id"),
        ACCOUNTS.c.currency,
        _COUNTERPARTY.c.user_id.label("counterparty_user_id"),
    ).select_from(
        LEDGER.join(ACCOUNTS, ACCOUNTS.c.id == LEDGER.c.account_id).outerjoin(
            _COUNTERPARTY, _COUNTERPARTY.c.id == LEDGER.c.counterparty_account_id
        )
    )
    if account is not None:
        statement = statement.where(
            ACCOUNTS.c.user_id == account.user_id, ACCOUNTS.c.currency == account.currency
        )
    return statement


def _transaction(row: Any) -> Transaction:
    return money_rows.transaction(row, row.owner_user_id, row.currency, row.counterparty_user_id)
