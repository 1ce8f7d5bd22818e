"""Sessions and their rotating refresh tokens (stored only as SHA-256 digests).

`state` is what the token check asks: the roles of the session's user while the session
is live (not revoked, not expired, its user active), or None. One indexed SELECT.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.orm import Session

from user_service.storage.models import RefreshTokenRow, SessionRow, UserRow
from user_service.storage.statements import Statement


@dataclass(frozen=True)
class RefreshRecord:
    token_id: uuid.UUID
    session_id: uuid.UUID
    user_id: uuid.UUID
    spent: bool
    live: bool  # token, session and user all still good
    session_expire_time: datetime


# The roles of a session's user while the session is live (not revoked nor expired, its
# user active and not deleted): what the token check asks when the cache does not know.
SESSION_ROLES = Statement(
    "SELECT u.roles FROM sessions s JOIN users u ON u.id = s.user_id"
    " WHERE s.id = %(session)s AND s.user_id = %(user)s AND s.revoke_time IS NULL"
    " AND s.expire_time > now() AND u.is_active AND u.delete_time IS NULL",
    lambda values: list(values[0]),
)


class SessionRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def open(self, user_id: uuid.UUID, expire_time: datetime) -> uuid.UUID:
        return self._session.execute(
            insert(SessionRow).values(user_id=user_id, expire_time=expire_time).returning(SessionRow.id)
        ).scalar_one()

    def add_refresh_token(self, session_id: uuid.UUID, token_hash: bytes, expire_time: datetime) -> None:
        self._session.execute(
            insert(RefreshTokenRow).values(
                session_id=session_id, token_hash=token_hash, expire_time=expire_time
            )
        )

    def refresh_token(self, token_hash: bytes) -> RefreshRecord | None:
        """The refresh token with this digest, locked (two refreshes of one token queue)."""
        live = and_(
            RefreshTokenRow.expire_time > func.now(),
            SessionRow.revoke_time.is_(None),
            SessionRow.expire_time > func.now(),
            UserRow.is_active,
            UserRow.delete_time.is_(None),
        )
        row = self._session.execute(
            select(
                RefreshTokenRow.id,
                RefreshTokenRow.session_id,
                SessionRow.user_id,
                RefreshTokenRow.use_time.is_not(None).label("spent"),
                live.label("live"),
                SessionRow.expire_time,
            )
            .join(SessionRow, SessionRow.id == RefreshTokenRow.session_id)
            .join(UserRow, UserRow.id == SessionRow.user_id)
            .where(RefreshTokenRow.token_hash == token_hash)
            .with_for_update(of=RefreshTokenRow)
        ).one_or_none()
        if row is None:
            return None
        return RefreshRecord(row.id, row.session_id, row.user_id, row.spent, row.live, row.expire_time)

    def spend_refresh_token(self, token_id: uuid.UUID) -> None:
        self._session.execute(
            update(RefreshTokenRow).where(RefreshTokenRow.id == token_id).values(use_time=func.now())
        )

    def revoke(self, session_id: uuid.UUID, reason: str) -> None:
        self._session.execute(
            update(SessionRow)
            .where(SessionRow.id == session_id, SessionRow.revoke_time.is_(None))
            .values(revoke_time=func.now(), revoke_reason=reason)
        )

    def revoke_all(
        self, user_id: uuid.UUID, reason: str, *, keep: uuid.UUID | None = None
    ) -> list[uuid.UUID]:
        """Revoke the user's live sessions (but `keep`); their ids, for the cache."""
        statement = (
            update(SessionRow)
            .where(SessionRow.user_id == user_id, SessionRow.revoke_time.is_(None))
            .values(revoke_time=func.now(), revoke_reason=reason)
            .returning(SessionRow.id)
        )
        if keep is not None:
            statement = statement.where(SessionRow.id != keep)
        return list(self._session.execute(statement).scalars())

    def live_ids(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        return list(
            self._session.execute(
                select(SessionRow.id).where(
                    SessionRow.user_id == user_id,
                    SessionRow.revoke_time.is_(None),
                    SessionRow.expire_time > func.now(),
                )
            ).scalars()
        )
