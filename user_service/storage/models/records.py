"""What the service keeps a record of: email to deliver (outbox) and audit events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from user_service.domain.model import EmailKind
from user_service.storage.models.base import Base, created, one_of

AUDIT_OUTCOMES = ("success", "failure")
EMAIL_KINDS = tuple(kind.value for kind in EmailKind)


class EmailOutboxRow(Base):
    """An email a user is owed, written in the same transaction as the change it tells of,
    and delivered at least once by a dispatcher that retries until sent_time is set.

    It holds no address, text or token: the dispatcher reads the user's address and makes
    the link's token when it sends, so the outbox keeps no personal data or live secret."""

    __tablename__ = "email_outbox"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint(one_of("kind", EMAIL_KINDS), name="known_kind"),
        Index(None, "next_attempt_time", postgresql_where=text("sent_time IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    create_time: Mapped[datetime] = created()
    next_attempt_time: Mapped[datetime] = created()
    attempts: Mapped[int] = mapped_column(server_default="0")
    sent_time: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)


class AuditEventRow(Base):
    """Who did what to whom, append-only. User ids are kept without foreign keys, so that
    the trail outlives what it tells of."""

    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint(one_of("outcome", AUDIT_OUTCOMES), name="known_outcome"),
        Index(None, "subject_user_id", "create_time"),
        Index(None, "actor_user_id"),  # erasing a deleted user's addresses
        Index(None, "create_time"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    create_time: Mapped[datetime] = created()
    # e.g. "user.login", "user.password_reset"
    action: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text)
    actor_user_id: Mapped[uuid.UUID | None]
    subject_user_id: Mapped[uuid.UUID | None]
    request_id: Mapped[str | None] = mapped_column(Text)
    client_address: Mapped[str | None] = mapped_column(Text)
    # Never a secret: no password, token or hash.
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
