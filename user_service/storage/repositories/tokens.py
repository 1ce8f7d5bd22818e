"""Single-use tokens (email verification), stored only as SHA-256 digests."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, insert, update
from sqlalchemy.orm import Session

from user_service.storage.models import SingleUseTokenRow


class SingleUseTokenRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self, user_id: uuid.UUID, purpose: str, token_hash: bytes, email: str, expire_time: datetime
    ) -> None:
        self._session.execute(
            insert(SingleUseTokenRow).values(
                user_id=user_id, purpose=purpose, token_hash=token_hash, email=email, expire_time=expire_time
            )
        )

    def consume(self, token_hash: bytes, purpose: str) -> tuple[uuid.UUID, str] | None:
        """Spend an unused, unexpired token: (its user, the address it was sent to), or None."""
        row = self._session.execute(
            update(SingleUseTokenRow)
            .where(
                SingleUseTokenRow.token_hash == token_hash,
                SingleUseTokenRow.purpose == purpose,
                SingleUseTokenRow.use_time.is_(None),
                SingleUseTokenRow.expire_time > func.now(),
            )
            .values(use_time=func.now())
            .returning(SingleUseTokenRow.user_id, SingleUseTokenRow.email)
        ).one_or_none()
        return (row.user_id, row.email or "") if row is not None else None

    def delete_for(self, user_id: uuid.UUID) -> None:
        self._session.execute(delete(SingleUseTokenRow).where(SingleUseTokenRow.user_id == user_id))
