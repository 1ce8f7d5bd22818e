"""Balance accounts, one per user and currency."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from user_service.storage.models import AccountRow
from user_service.storage.repositories.flush import flush

DEFAULT_CURRENCY = "USD"


class AccountRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def open(self, user_id: uuid.UUID, currency: str = DEFAULT_CURRENCY) -> AccountRow:
        row = AccountRow(user_id=user_id, currency=currency, available=0, held=0)
        self._session.add(row)
        flush(self._session)
        return row
