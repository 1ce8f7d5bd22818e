"""Balance accounts, one per user and currency: opened with the user, closed with it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from user_service.storage.models import AccountRow, HoldRow

DEFAULT_CURRENCY = "USD"


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
