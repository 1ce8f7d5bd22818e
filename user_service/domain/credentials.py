"""What makes an email address, a name and a password acceptable.

Passwords follow NIST 800-63B: at least 8 characters, at most 72 UTF-8 bytes (all that
bcrypt reads: a longer one is refused, never cut), and not common or easy to guess
(zxcvbn, which knows the common-password lists, keyboard walks, repeats and dates, and is
told the user's own email and name) — no rules about which characters to use.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from zxcvbn import zxcvbn

from user_service.adapters.passwords import MAX_PASSWORD_BYTES, fits
from user_service.domain.errors import FieldViolation, InvalidArgument
from user_service.domain.validation import Violations

MIN_PASSWORD_CHARACTERS = 8
MIN_PASSWORD_SCORE = 2  # zxcvbn: 0-1 "too guessable" (fewer than about a million guesses)
MAX_EMAIL_LENGTH = 254
MAX_FULL_NAME_LENGTH = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# An address as mail headers read it whole: the local part in RFC 5322's dot-atom letters
# (no comma, angle bracket, colon, semicolon, quote or parenthesis, which a To header would
# read as more addresses or a display name), the domain in labels of letters, digits and
# hyphens; past ASCII, letters of any script (RFC 6531's internationalized addresses).
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~\u00a1-\uffff-]+"
_LABEL = r"[a-z0-9\u00a1-\uffff-]+"
_EMAIL = re.compile(rf"{_ATOM}(\.{_ATOM})*@{_LABEL}(\.{_LABEL})+")


def normalize_email(raw: str, field: str = "email") -> str:
    """The address trimmed and lower-cased; INVALID_EMAIL unless it looks like one."""
    email = raw.strip().lower()
    if (
        len(email) > MAX_EMAIL_LENGTH
        or not _EMAIL.fullmatch(email)
        or any(unicodedata.category(c)[0] in "CZ" for c in email)  # spaces, invisible, controls
    ):
        raise InvalidArgument(FieldViolation(field, "must be an email address", "INVALID_EMAIL"))
    return email


def clean_full_name(raw: str, field: str = "full_name") -> str:
    """The name trimmed; INVALID_FULL_NAME when too long or holding control characters."""
    name = raw.strip()
    if len(name) > MAX_FULL_NAME_LENGTH:
        raise InvalidArgument(
            FieldViolation(field, f"must be at most {MAX_FULL_NAME_LENGTH} characters", "INVALID_FULL_NAME")
        )
    if _CONTROL.search(name):
        raise InvalidArgument(FieldViolation(field, "must not hold control characters", "INVALID_FULL_NAME"))
    return name


def password_problem(password: str, known: Sequence[str] = ()) -> str | None:
    """Why the password is refused, or None. `known`: the user's email and name, which a
    password must not be made of."""
    if len(password) < MIN_PASSWORD_CHARACTERS:
        return f"must be at least {MIN_PASSWORD_CHARACTERS} characters"
    if not fits(password):  # bcrypt would read only the start of it: refused, never cut
        return f"must be at most {MAX_PASSWORD_BYTES} bytes in UTF-8"
    if zxcvbn(password, user_inputs=_words_of(known))["score"] < MIN_PASSWORD_SCORE:
        return "is too common or too easy to guess"
    return None


def _words_of(known: Sequence[str]) -> list[str]:
    """What a password must not be made of: each value, an email's local part, its words,
    and those words run together ("alice.cooper" -> alice, cooper, alicecooper)."""
    words: set[str] = set()
    for value in (value.lower() for value in known if value):
        local = value.partition("@")[0]
        pieces = [word for word in re.split(r"[^\w]+|_", local) if len(word) >= 3]
        words |= {value, local, "".join(pieces), *pieces}
    return sorted(word for word in words if word)


def check_password(password: str, field: str = "password", known: Sequence[str] = ()) -> None:
    """WEAK_PASSWORD unless acceptable (see password_problem)."""
    problem = password_problem(password, known)
    if problem is not None:
        raise InvalidArgument(FieldViolation(field, problem, "WEAK_PASSWORD"))


def check_new_user(found: Violations, email: str, password: str, full_name: str) -> tuple[str, str]:
    """A new user's email and name, normalized; what is wrong with them or with the password
    (too weak, or made of the email or the name) is added to `found`."""
    email = found.check(normalize_email, email, default=email)
    full_name = found.check(clean_full_name, full_name, default=full_name)
    found.check(check_password, password, known=[email, full_name], default=None)
    return email, full_name
