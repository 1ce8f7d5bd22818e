"""Users by id and by email."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from user_service.storage.models import UserRow
from user_service.storage.repositories.flush import flush


class UserRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, user_id: uuid.UUID) -> UserRow | None:
        return self._session.get(UserRow, user_id)

    def get_by_email(self, email: str) -> UserRow | None:
        return self._session.scalars(select(UserRow).where(UserRow.email == email)).one_or_none()

    def add(self, row: UserRow) -> UserRow:
        """Insert now, so that a taken email raises UniqueViolation here."""
        self._session.add(row)
        flush(self._session)
        return row
