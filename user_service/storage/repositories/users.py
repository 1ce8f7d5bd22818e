"""Users: found by id or email, created, changed, listed in creation order, scrubbed.

Deleted users keep their row (the ledger points at it) but are never found: every lookup
here skips them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from user_service.domain.model import Credentials, Role, User, UserFilter
from user_service.storage.models import UserRow
from user_service.storage.repositories.flush import flush
from user_service.storage.statements import Statement

_USER_COLUMNS = (
    UserRow.id,
    UserRow.email,
    UserRow.full_name,
    UserRow.is_active,
    UserRow.email_verified,
    UserRow.roles,
    UserRow.create_time,
    UserRow.update_time,
)
_LIVE = UserRow.delete_time.is_(None)


_ROLES = {role.value: role for role in Role}  # a lookup, where Role(value) is a call into enum


def _user_from(values: tuple[Any, ...]) -> User:
    """A user from the columns of _USER_COLUMNS, in their order."""
    user_id, email, full_name, is_active, email_verified, roles, create_time, update_time = values
    return User(
        id=user_id,
        email=email or "",
        full_name=full_name,
        is_active=is_active,
        email_verified=email_verified,
        roles=tuple(_ROLES[role] for role in roles),
        create_time=create_time,
        update_time=update_time,
    )


# A live user by id: the hot read of GetMe and GetUser (storage/statements.py), and find().
USER_BY_ID = Statement(
    "SELECT id, email, full_name, is_active, email_verified, roles, create_time, update_time"
    " FROM users WHERE id = %(id)s AND delete_time IS NULL",
    _user_from,
)


def _user(row: Any) -> User:  # a Row with the columns of _USER_COLUMNS
    return User(
        id=row.id,
        email=row.email or "",
        full_name=row.full_name,
        is_active=row.is_active,
        email_verified=row.email_verified,
        roles=tuple(Role(role) for role in row.roles),
        create_time=row.create_time,
        update_time=row.update_time,
    )


class UserRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def find(self, user_id: uuid.UUID, *, lock: bool = False) -> User | None:
        sql = USER_BY_ID.sql + (" FOR UPDATE" if lock else "")
        row = self._session.connection().exec_driver_sql(sql, {"id": user_id}).first()
        return USER_BY_ID.row(tuple(row)) if row is not None else None

    def credentials(self, email: str) -> Credentials | None:
        """The user with this email and its password hash (for Login)."""
        row = self._session.execute(
            select(*_USER_COLUMNS, UserRow.password_hash).where(UserRow.email == email, _LIVE)
        ).one_or_none()
        return Credentials(_user(row), row.password_hash) if row is not None else None

    def credentials_of(self, user_id: uuid.UUID) -> Credentials | None:
        row = self._session.execute(
            select(*_USER_COLUMNS, UserRow.password_hash).where(UserRow.id == user_id, _LIVE)
        ).one_or_none()
        return Credentials(_user(row), row.password_hash) if row is not None else None

    def replace_password_hash(self, user_id: uuid.UUID, old_hash: str, new_hash: str) -> bool:
        """Set the new hash only if the old one is still in place (no lost update)."""
        result = self._session.execute(
            update(UserRow)
            .where(UserRow.id == user_id, UserRow.password_hash == old_hash, _LIVE)
            .values(password_hash=new_hash, update_time=func.now())
            .returning(UserRow.id)
        )
        return result.first() is not None

    def reset_binding(self, user_id: uuid.UUID) -> tuple[str, str] | None:
        """(password hash, email) of a live user, its row locked: what a reset token is bound to."""
        row = self._session.execute(
            select(UserRow.password_hash, UserRow.email).where(UserRow.id == user_id, _LIVE).with_for_update()
        ).first()
        return (row.password_hash, row.email) if row is not None and row.password_hash and row.email else None

    def email_taken(self, email: str) -> bool:
        return self._session.execute(select(UserRow.id).where(UserRow.email == email)).first() is not None

    def add(
        self, *, email: str, full_name: str, password_hash: str, roles: Sequence[Role], verified: bool
    ) -> User:
        """Insert now, so that a taken email raises UniqueViolation here."""
        row = UserRow(
            email=email,
            full_name=full_name,
            password_hash=password_hash,
            roles=sorted({role.value for role in roles}),
            is_active=True,
            email_verified=verified,
        )
        self._session.add(row)
        flush(self._session)
        return self.find(row.id) or _missing(row.id)

    def change(self, user_id: uuid.UUID, **values: Any) -> User:
        """Set columns (full_name, email, email_verified, roles, password_hash) of a live user."""
        self._session.execute(
            update(UserRow).where(UserRow.id == user_id, _LIVE).values(**values, update_time=func.now())
        )
        flush(self._session)
        return self.find(user_id) or _missing(user_id)

    def mark_verified(self, user_id: uuid.UUID, email: str) -> bool:
        """Verify `email` if it is still the user's address; False when it is not."""
        result = self._session.execute(
            update(UserRow)
            .where(UserRow.id == user_id, UserRow.email == email, _LIVE)
            .values(email_verified=True, update_time=func.now())
            .returning(UserRow.id)
        )
        return result.first() is not None

    def scrub(self, user_id: uuid.UUID) -> None:
        """Remove the user's personal data; the row stays for the ledger."""
        self._session.execute(
            update(UserRow)
            .where(UserRow.id == user_id)
            .values(
                email=None,
                password_hash=None,
                full_name="",
                is_active=False,
                delete_time=func.now(),
                update_time=func.now(),
            )
        )

    def page(self, query: UserFilter, after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[User]:
        """Live users matching `query`, in creation order, after the (create_time, id) given."""
        conditions: list[ColumnElement[bool]] = [_LIVE]
        if query.email_prefix is not None:
            conditions.append(func.starts_with(UserRow.email, query.email_prefix))
        if query.email is not None:
            conditions.append(UserRow.email == query.email)
        if query.role is not None:
            conditions.append(UserRow.roles.contains([query.role.value]))
        if query.is_active is not None:
            conditions.append(UserRow.is_active.is_(query.is_active))
        if query.email_verified is not None:
            conditions.append(UserRow.email_verified.is_(query.email_verified))
        if after is not None:
            conditions.append(tuple_(UserRow.create_time, UserRow.id) > tuple_(*after))
        statement = (
            select(*_USER_COLUMNS).where(*conditions).order_by(UserRow.create_time, UserRow.id).limit(limit)
        )
        return [_user(row) for row in self._session.execute(statement)]


def _missing(user_id: uuid.UUID) -> User:
    raise LookupError(f"user {user_id} vanished inside its own transaction")
