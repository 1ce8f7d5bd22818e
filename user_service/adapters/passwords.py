"""Password hashing with bcrypt."""

from __future__ import annotations

import bcrypt


class BcryptHasher:
    def __init__(self, rounds: int) -> None:
        self._rounds = rounds

    def hash(self, password: str) -> str:
        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(self._rounds)).decode()

    def verify(self, password: str, password_hash: str) -> bool:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
