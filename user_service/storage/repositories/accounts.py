"""Balance accounts, one per user and currency, and their row locks.

Lock order, everywhere: account rows in id order, then hold rows. Every change of an
account's balance happens while its row is locked (here, or by the guarded UPDATE of a
ledger or hold statement), so the ledger rows of one account are written one
transaction at a time, and their ids rise in commit order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from user_service.domain.money import DEFAULT_CURRENCY, Account, Balance
from user_service.storage.models import AccountRow
from user_service.storage.repositories import money_rows
from user_service.storage.repositories.flush import flush
from user_service.storage.repositories.money_rows import ACCOUNTS, HOLDS, USERS, LockedAccount

_LIVE_USER = USERS.c.delete_time.is_(None)


class AccountRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def open(self, user_id: uuid.UUID, currency: str = DEFAULT_CURRENCY) -> AccountRow:
        row = AccountRow(user_id=user_id, currency=currency, available=0, held=0)
        self._session.add(row)
        flush(self._session)
        return row

    def balance(self, account: Account) -> Balance | None:
        """One indexed SELECT; None for an unknown or deleted user."""
        row = (
            self._session.connection()
            .execute(
                select(
                    ACCOUNTS.c.user_id,
                    ACCOUNTS.c.currency,
                    ACCOUNTS.c.available,
                    ACCOUNTS.c.held,
                    ACCOUNTS.c.update_time,
                )
                .select_from(ACCOUNTS.join(USERS, USERS.c.id == ACCOUNTS.c.user_id))
                .where(_is(account), _LIVE_USER)
            )
            .one_or_none()
        )
        return None if row is None else money_rows.balance(row)

    def lock(self, accounts: Sequence[Account]) -> list[LockedAccount]:
        """Lock these accounts' rows in id order (so that two transactions locking the same
        accounts never wait for each other in a circle) and read them. Unknown accounts are
        missing from the list; deleted users' are there with `live` False."""
        statement = _locked().where(or_(*(_is(account) for account in accounts))).order_by(ACCOUNTS.c.id)
        return [_locked_account(row) for row in self._session.connection().execute(statement)]

    def lock_holder(self, hold_id: uuid.UUID) -> LockedAccount | None:
        """Lock the account that holds this hold (before the hold itself); None: no such hold."""
        holder = select(HOLDS.c.account_id).where(HOLDS.c.id == hold_id).scalar_subquery()
        row = self._session.connection().execute(_locked().where(ACCOUNTS.c.id == holder)).one_or_none()
        return None if row is None else _locked_account(row)


def _is(account: Account) -> ColumnElement[bool]:
    return and_(ACCOUNTS.c.user_id == account.user_id, ACCOUNTS.c.currency == account.currency)


def _locked() -> Select[Any]:
    return (
        select(
            ACCOUNTS.c.id,
            ACCOUNTS.c.user_id,
            ACCOUNTS.c.currency,
            ACCOUNTS.c.available,
            ACCOUNTS.c.held,
            ACCOUNTS.c.update_time,
            _LIVE_USER.label("live"),
        )
        .select_from(ACCOUNTS.join(USERS, USERS.c.id == ACCOUNTS.c.user_id))
        .with_for_update(of=ACCOUNTS)
    )


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
