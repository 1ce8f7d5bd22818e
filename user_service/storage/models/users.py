"""Users and what proves who they are: sessions, refresh tokens, single-use tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from user_service.domain.model import EmailKind, Role
from user_service.storage.models.base import Base, created, one_of, sql_list, updated, uuid_pk

# The domain's Role is the one list of roles; the CHECK below is built from it.
ROLES = tuple(role.value for role in Role)
TOKEN_PURPOSES = tuple(kind.value for kind in EmailKind)
MAX_EMAIL_LENGTH = 254
MAX_FULL_NAME_LENGTH = 200


class UserRow(Base):
    """A user. Deleting one removes its personal data and keeps the row for the ledger."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_normalized"),
        CheckConstraint(f"roles <@ ARRAY[{sql_list(ROLES)}]::text[]", name="known_roles"),
        CheckConstraint("cardinality(roles) > 0", name="has_a_role"),
        CheckConstraint(f"length(email) <= {MAX_EMAIL_LENGTH}", name="email_length"),
        CheckConstraint(f"length(full_name) <= {MAX_FULL_NAME_LENGTH}", name="full_name_length"),
        CheckConstraint(
            "delete_time IS NULL OR (email IS NULL AND password_hash IS NULL"
            " AND full_name = '' AND NOT is_active)",
            name="deleted_users_keep_no_personal_data",
        ),
        CheckConstraint(
            "delete_time IS NOT NULL OR (email IS NOT NULL AND password_hash IS NOT NULL)",
            name="active_users_have_credentials",
        ),
        Index(None, "create_time", "id"),  # ListUsers pages in creation order
        Index(None, "roles", postgresql_using="gin"),  # ListUsers filters by role
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # NULL once the user is deleted.
    email: Mapped[str | None] = mapped_column(Text, unique=True)
    full_name: Mapped[str] = mapped_column(Text, server_default="")
    password_hash: Mapped[str | None] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{user}'"))
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    email_verified: Mapped[bool] = mapped_column(server_default=text("false"))
    create_time: Mapped[datetime] = created()
    update_time: Mapped[datetime] = updated()
    delete_time: Mapped[datetime | None]


class SessionRow(Base):
    """One login: what an access token's `sid` names. Revoking it ends its tokens."""

    __tablename__ = "sessions"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    create_time: Mapped[datetime] = created()
    expire_time: Mapped[datetime]
    revoke_time: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(Text)


class RefreshTokenRow(Base):
    """A rotating refresh token, stored as its SHA-256; a spent one shown again is reuse."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = uuid_pk()
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    create_time: Mapped[datetime] = created()
    expire_time: Mapped[datetime]
    use_time: Mapped[datetime | None]


class SingleUseTokenRow(Base):
    """An email verification or password reset token, stored as its SHA-256."""

    __tablename__ = "single_use_tokens"
    __table_args__ = (
        CheckConstraint(one_of("purpose", TOKEN_PURPOSES), name="known_purpose"),
        Index(None, "user_id", "purpose"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    # The address a verification token was sent to: verifying confirms that address only.
    email: Mapped[str | None] = mapped_column(Text)
    create_time: Mapped[datetime] = created()
    expire_time: Mapped[datetime]
    use_time: Mapped[datetime | None]
