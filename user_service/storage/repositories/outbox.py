"""The email outbox: rows say which email a user is owed; dispatchers claim them.

A claim takes due rows with FOR UPDATE SKIP LOCKED (so that dispatchers never take the
same row) and leases them: it counts the attempt and moves next_attempt_time past the
lease, then commits. Sending happens outside any transaction; a dispatcher that dies
mid-send leaves the row to be claimed again when the lease ends (delivery at least once).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from user_service.storage.models import EmailOutboxRow, UserRow


@dataclass(frozen=True)
class OutboxItem:
    id: int
    kind: str
    attempts: int
    user_id: uuid.UUID | None
    # The user's current address, name, state and password hash (None once deleted).
    email: str | None
    full_name: str
    email_verified: bool
    password_hash: str | None


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def enqueue(self, user_id: uuid.UUID | None, kind: str) -> None:
        """An email to send to the user (None: to no one; the dispatcher drops it)."""
        self._session.execute(insert(EmailOutboxRow).values(user_id=user_id, kind=kind))

    def claim(self, limit: int, lease: timedelta, max_attempts: int) -> list[OutboxItem]:
        due = (
            select(EmailOutboxRow.id)
            .where(
                EmailOutboxRow.sent_time.is_(None),
                EmailOutboxRow.next_attempt_time <= func.now(),
                EmailOutboxRow.attempts < max_attempts,
            )
            .order_by(EmailOutboxRow.next_attempt_time)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        claimed = self._session.execute(
            update(EmailOutboxRow)
            .where(EmailOutboxRow.id.in_(due))
            .values(attempts=EmailOutboxRow.attempts + 1, next_attempt_time=func.now() + lease)
            .returning(
                EmailOutboxRow.id, EmailOutboxRow.kind, EmailOutboxRow.attempts, EmailOutboxRow.user_id
            )
        ).all()
        users = {
            row.id: row
            for row in self._session.execute(
                select(
                    UserRow.id,
                    UserRow.email,
                    UserRow.full_name,
                    UserRow.email_verified,
                    UserRow.password_hash,
                ).where(UserRow.id.in_({row.user_id for row in claimed if row.user_id is not None}))
            )
        }
        items = []
        for row in sorted(claimed, key=lambda row: row.id):
            user = users.get(row.user_id)
            items.append(
                OutboxItem(
                    row.id,
                    row.kind,
                    row.attempts,
                    row.user_id,
                    user.email if user else None,
                    user.full_name if user else "",
                    bool(user and user.email_verified),
                    user.password_hash if user else None,
                )
            )
        return items

    def sent(self, item_id: int) -> None:
        self._session.execute(
            update(EmailOutboxRow)
            .where(EmailOutboxRow.id == item_id)
            .values(sent_time=func.now(), last_error=None)
        )

    def failed(self, item_id: int, error: str, retry_in: timedelta) -> None:
        self._session.execute(
            update(EmailOutboxRow)
            .where(EmailOutboxRow.id == item_id)
            .values(last_error=error[:200], next_attempt_time=func.now() + retry_in)
        )

    def drop(self, item_id: int) -> None:
        """An email nobody should get any more (its user was deleted, or verified already)."""
        self._session.execute(delete(EmailOutboxRow).where(EmailOutboxRow.id == item_id))

    def drop_for(self, user_id: uuid.UUID) -> None:
        self._session.execute(delete(EmailOutboxRow).where(EmailOutboxRow.user_id == user_id))
