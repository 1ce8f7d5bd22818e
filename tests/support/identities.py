"""Users made straight in the database, each with a live session and an access token, for
tests of RPCs that need a caller (as an operator's create-user and a Login would make them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import bcrypt
from sqlalchemy import Engine, text

from tests.support.server_process import TEST_JWT_SECRET
from user_service.adapters.jwt_tokens import JwtCodec

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()


@dataclass(frozen=True)
class Identity:
    user_id: uuid.UUID
    email: str
    session_id: uuid.UUID
    token: str
    password: str = PASSWORD

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        """What to send as the call's metadata to act as this user."""
        return (("authorization", f"Bearer {self.token}"),)


def make_identity(
    engine: Engine, *roles: str, verified: bool = True, secret: str = TEST_JWT_SECRET
) -> Identity:
    """A new active user with `roles` (default: user), its balance account, a session that
    lasts a day, and an access token for it signed with `secret`."""
    roles = roles or ("user",)
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"
    with engine.begin() as connection:
        user_id = connection.execute(
            text(
                "INSERT INTO users (email, password_hash, roles, email_verified)"
                " VALUES (:email, :hash, :roles, :verified) RETURNING id"
            ),
            {"email": email, "hash": _PASSWORD_HASH, "roles": list(roles), "verified": verified},
        ).scalar_one()
        connection.execute(text("INSERT INTO accounts (user_id) VALUES (:id)"), {"id": user_id})
        session_id = connection.execute(
            text(
                "INSERT INTO sessions (user_id, expire_time)"
                " VALUES (:id, now() + interval '1 day') RETURNING id"
            ),
            {"id": user_id},
        ).scalar_one()
    token = JwtCodec([secret]).encode(
        {"sub": str(user_id), "roles": list(roles), "sid": str(session_id), "jti": uuid.uuid4().hex}, 3600
    )
    return Identity(user_id, email, session_id, token)
