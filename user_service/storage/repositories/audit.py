"""The audit trail: append-only rows (a trigger refuses UPDATE and DELETE)."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, insert, or_, update
from sqlalchemy.orm import Session

from user_service.domain.audit import AuditEvent
from user_service.storage.models import AuditEventRow


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, *events: AuditEvent) -> None:
        if not events:
            return
        self._session.execute(
            insert(AuditEventRow),
            [
                {
                    "action": event.action,
                    "outcome": event.outcome,
                    "actor_user_id": event.actor_user_id,
                    "subject_user_id": event.subject_user_id,
                    "request_id": event.request_id,
                    "client_address": event.client_address,
                    "details": dict(event.details),
                }
                for event in events
            ],
        )

    def erase_addresses(self, user_id: uuid.UUID) -> None:
        """Forget where a deleted user acted from: the one change the trail allows."""
        self._session.execute(
            update(AuditEventRow)
            .where(
                AuditEventRow.client_address.is_not(None),
                or_(
                    AuditEventRow.actor_user_id == user_id,
                    and_(AuditEventRow.subject_user_id == user_id, AuditEventRow.actor_user_id.is_(None)),
                ),
            )
            .values(client_address=None)
        )
