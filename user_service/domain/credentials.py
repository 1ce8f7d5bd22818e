"""What makes an email address and a password acceptable."""

from __future__ import annotations

import re

from user_service.adapters.passwords import MAX_PASSWORD_BYTES, fits
from user_service.domain.errors import FieldViolation, InvalidArgument

MIN_PASSWORD_CHARACTERS = 8
MAX_EMAIL_LENGTH = 254
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def normalize_email(raw: str, field: str = "email") -> str:
    """The address trimmed and lower-cased; INVALID_EMAIL unless it looks like one."""
    email = raw.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(email):
        raise InvalidArgument(FieldViolation(field, "must be an email address", "INVALID_EMAIL"))
    return email


def check_password(password: str, field: str = "password") -> None:
    """WEAK_PASSWORD unless 8 characters to 72 UTF-8 bytes."""
    if len(password) < MIN_PASSWORD_CHARACTERS:
        problem = f"must be at least {MIN_PASSWORD_CHARACTERS} characters"
    elif not fits(password):  # bcrypt would read only the start of it: refused, never cut
        problem = f"must be at most {MAX_PASSWORD_BYTES} bytes in UTF-8"
    else:
        return
    raise InvalidArgument(FieldViolation(field, problem, "WEAK_PASSWORD"))
