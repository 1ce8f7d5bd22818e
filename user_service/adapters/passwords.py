"""Password hashing with bcrypt.

bcrypt reads at most 72 bytes of a password, and bcrypt 5 refuses longer ones with a
ValueError. The hasher owns that rule: it never hashes a longer password (callers check
with `fits`, so that one is refused, never silently cut) and never matches one.
"""

from __future__ import annotations

from typing import Protocol

import bcrypt

MAX_PASSWORD_BYTES = 72


class PasswordHasher(Protocol):
    """A BcryptHasher, or a PasswordPool running one on threads of its own."""

    def hash(self, password: str) -> str: ...

    def verify(self, password: str, password_hash: str) -> bool: ...


def fits(password: str) -> bool:
    """Whether bcrypt reads the whole password."""
    return len(password.encode()) <= MAX_PASSWORD_BYTES


class BcryptHasher:
    def __init__(self, rounds: int) -> None:
        self._rounds = rounds

    def hash(self, password: str) -> str:
        if not fits(password):
            raise ValueError(f"a password longer than {MAX_PASSWORD_BYTES} bytes cannot be hashed whole")
        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(self._rounds)).decode()

    def verify(self, password: str, password_hash: str) -> bool:
        """True when the password matches. A password bcrypt cannot read whole never matches,
        and costs the same time as any other (the hash is checked against a stand-in)."""
        candidate = password.encode() if fits(password) else b"\x00"
        matches = bcrypt.checkpw(candidate, password_hash.encode())
        return matches and fits(password)
