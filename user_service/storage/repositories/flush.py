"""Flush a session, turning a unique-key violation into storage's own UniqueViolation."""

from __future__ import annotations

from psycopg2 import errorcodes
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from user_service.storage.errors import UniqueViolation


def flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        if getattr(exc.orig, "pgcode", None) == errorcodes.UNIQUE_VIOLATION:
            raise UniqueViolation(exc.orig.diag.constraint_name or "unknown") from None  # type: ignore[union-attr]
        raise
