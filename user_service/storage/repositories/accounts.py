"""Balance accounts, one per user and currency: opened with the user, closed with it, and
their row locks.

Lock order, everywhere: account rows in id order, then hold rows. Every change of an
account's balance happens while its row is locked (here, or by the guarded UPDATE of a
ledger or hold statement), so the ledger rows of one account are written one
transaction at a time, and their ids rise in commit order. Money moves only on open
accounts (close_time unset), checked on the locked row itself, so that a call racing a
user's deletion sees the row the deletion wrote.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from user_service.domain.money import DEFAULT_CURRENCY, Account, Balance
from user_service.storage.models import AccountRow, HoldRow
from user_service.storage.repositories.money_rows import ACCOUNTS, BALANCE_COLUMNS, HOLDS, LockedAccount
from user_service.storage.statements import Statement

OPEN = ACCOUNTS.c.close_time.is_(None)

# An open account's balance: GetBalance's one indexed SELECT (storage/statements.py), and balance().
BALANCE = Statement(
    "SELECT user_id, currency, available, held, update_time FROM accounts"
    " WHERE user_id = %(user_id)s AND currency = %(currency)s AND close_time IS NULL",
    lambda values: Balance(*values),
)


def balance_params(account: Account) -> dict[str, object]:
    return {"user_id": account.user_id, "currency": account.currency}


@dataclass(frozen=True)
class Holdings:
    """What a user's open accounts still hold, read under their row locks."""

    available: int
    held: int
    active_holds: int


class AccountRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def open(self, user_id: uuid.UUID, currency: str = DEFAULT_CURRENCY) -> None:
        self._session.execute(
            insert(AccountRow).values(user_id=user_id, currency=currency, available=0, held=0)
        )

    def lock_holdings(self, user_id: uuid.UUID) -> Holdings:
        """Lock the user's accounts (no money moves on them until this transaction ends)."""
        rows = self._session.execute(
            select(AccountRow.id, AccountRow.available, AccountRow.held)
            .where(AccountRow.user_id == user_id, AccountRow.close_time.is_(None))
            .order_by(AccountRow.id)
            .with_for_update()
        ).all()
        active = self._session.execute(
            select(func.count())
            .select_from(HoldRow)
            .where(HoldRow.account_id.in_([row.id for row in rows]), HoldRow.status == "active")
        ).scalar_one()
        return Holdings(sum(row.available for row in rows), sum(row.held for row in rows), active)

    def close_all(self, user_id: uuid.UUID) -> None:
        self._session.execute(
            update(AccountRow)
            .where(AccountRow.user_id == user_id, AccountRow.close_time.is_(None))
            .values(close_time=func.now(), update_time=func.now())
        )

    def balance(self, account: Account) -> Balance | None:
        """One indexed SELECT; None for an unknown user or a closed account (a deleted user's)."""
        row = self._session.connection().exec_driver_sql(BALANCE.sql, balance_params(account)).first()
        return None if row is None else BALANCE.row(tuple(row))

    def lock(self, accounts: Sequence[Account]) -> list[LockedAccount]:
        """Lock these accounts' rows in id order (so that two transactions locking the same
        accounts never wait for each other in a circle) and read them. Unknown accounts are
        missing from the list; closed ones are there with `live` False."""
        wanted = or_(*(is_account(account) for account in accounts))
        statement = _locked().where(wanted).order_by(ACCOUNTS.c.id)
        return [_locked_account(row) for row in self._session.connection().execute(statement)]

    def lock_holder(self, hold_id: uuid.UUID) -> LockedAccount | None:
        """Lock the account that holds this hold (before the hold itself); None: no such hold."""
        holder = select(HOLDS.c.account_id).where(HOLDS.c.id == hold_id).scalar_subquery()
        row = self._session.connection().execute(_locked().where(ACCOUNTS.c.id == holder)).one_or_none()
        return None if row is None else _locked_account(row)


def is_account(account: Account) -> ColumnElement[bool]:
    return and_(ACCOUNTS.c.user_id == account.user_id, ACCOUNTS.c.currency == account.currency)


def _locked() -> Select[Any]:
    return select(*BALANCE_COLUMNS, OPEN.label("live")).with_for_update()


def _locked_account(row: Any) -> LockedAccount:
    return LockedAccount(
        id=row.id,
        user_id=row.user_id,
        currency=row.currency,
        available=row.available,
        held=row.held,
        update_time=row.update_time,
        live=row.live,
    )
