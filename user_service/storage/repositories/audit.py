"""The audit trail: append-only rows (a trigger refuses UPDATE and DELETE)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Insert,
    Text,
    Update,
    Uuid,
    and_,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
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
        self._session.execute(erase_addresses_statement(user_id))


def erase_addresses_statement(user_id: uuid.UUID) -> Update:
    """The events the user acted in, or was the subject of with no actor (a failed login's):
    found by index, since the deletion holds the user's account row locked meanwhile."""
    return (
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


def audit_insert(event: AuditEvent, source: FromClause, **details_from_source: ColumnElement[Any]) -> Insert:
    """`INSERT ... SELECT` of `event`, one row per row of `source` (so none when it has
    none), its details completed with columns of `source` (e.g. the new ledger row's id):
    for statements that write a change and its audit row in one round trip."""
    details: ColumnElement[Any] = literal(dict(event.details), JSONB)
    if details_from_source:
        pairs = [part for key, column in details_from_source.items() for part in (literal(key), column)]
        details = details.op("||", return_type=JSONB)(func.jsonb_build_object(*pairs))
    return insert(AuditEventRow).from_select(
        ["action", "outcome", "actor_user_id", "subject_user_id", "request_id", "client_address", "details"],
        select(
            literal(event.action),
            literal(event.outcome),
            literal(event.actor_user_id, Uuid),
            literal(event.subject_user_id, Uuid),
            literal(event.request_id, Text),
            literal(event.client_address, Text),
            details,
        ).select_from(source),
        include_defaults=False,
    )
