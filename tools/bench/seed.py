"""What the run's database holds before the load: users with accounts, sessions and tokens,
written straight in SQL as the owner (as tests/support/identities.py does).

    accounts for the service   500 users ...-8000-2000000000NN (NN 001..500) and a hot one ...-200000000000
    accounts for pgbench       500 users ...-8000-1000000000NN and a hot one ...-100000000000
    the reader                 a `user` with a live session: GetMe, and GetBalance of itself
    the payer                  a `service` with a live session: every Deposit
    the login users            LOGIN_USERS verified users, one password hashed at BCRYPT_ROUNDS
                               (taken in turn: a login limit counts password checks running
                               per account, and people log in to accounts of their own)

pgbench's accounts are a copy of the service's, in the same tables, so that the two never
touch each other's rows (the hot-account check sees only the service's deposits); their
ids are numbers in a UUID's last group, which pgbench's `\\set uid random(...)` can make.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

import bcrypt
from sqlalchemy import Connection, create_engine, text

from user_service.adapters.jwt_tokens import JwtCodec
from user_service.domain.authentication import AccessTokens
from user_service.domain.model import Role

ACCOUNTS = 500
SERVICE_BASE = 200_000_000_000
PGBENCH_BASE = 100_000_000_000
# The service's cheapest cost: for the users nobody logs in as.
_UNUSED_HASH = bcrypt.hashpw(b"never used", bcrypt.gensalt(4)).decode()
TOKEN_TTL_SECONDS = 86400
LOGIN_USERS = 32


def numbered_user(number: int) -> str:
    """The user id whose last group is `number` (12 decimal digits)."""
    return f"00000000-0000-4000-8000-{number:012d}"


@dataclass(frozen=True)
class Caller:
    user_id: str
    session_id: str
    roles: tuple[Role, ...]


@dataclass(frozen=True)
class Seeded:
    reader: Caller
    payer: Caller
    login_emails: tuple[str, ...]
    login_password: str
    jwt_secret: str
    bcrypt_rounds: int

    @property
    def accounts(self) -> list[str]:
        return [numbered_user(SERVICE_BASE + n) for n in range(1, ACCOUNTS + 1)]

    @property
    def hot_account(self) -> str:
        return numbered_user(SERVICE_BASE)

    def token(self, caller: Caller) -> str:
        """An access token for `caller`'s session, signed with the run's JWT secret."""
        return AccessTokens(JwtCodec([self.jwt_secret]), TOKEN_TTL_SECONDS).issue(
            uuid.UUID(caller.user_id), caller.roles, uuid.UUID(caller.session_id)
        )


def seed(owner_url: str, bcrypt_rounds: int) -> Seeded:
    password = secrets.token_urlsafe(16)
    login_hash = bcrypt.hashpw(password.encode(), bcrypt.gensalt(bcrypt_rounds)).decode()
    engine = create_engine(owner_url)
    try:
        with engine.begin() as connection:
            for base in (SERVICE_BASE, PGBENCH_BASE):
                _numbered_accounts(connection, base)
            reader = _caller(connection, Role.USER)
            payer = _caller(connection, Role.SERVICE)
            run = uuid.uuid4().hex[:12]
            emails = tuple(f"bench-login-{run}-{n}@example.com" for n in range(LOGIN_USERS))
            connection.execute(
                text(
                    "INSERT INTO users (email, password_hash, roles, email_verified)"
                    " VALUES (:email, :hash, '{user}', true)"
                ),
                [{"email": email, "hash": login_hash} for email in emails],
            )
            connection.execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return Seeded(reader, payer, emails, password, secrets.token_urlsafe(48), bcrypt_rounds)


def _numbered_accounts(connection: Connection, base: int) -> None:
    """Users base+0 (the hot one) to base+ACCOUNTS, each with an empty USD account."""
    ids = [numbered_user(base + n) for n in range(ACCOUNTS + 1)]
    connection.execute(
        text(
            "INSERT INTO users (id, email, password_hash, roles, email_verified)"
            " SELECT CAST(id AS uuid), 'bench-' || id || '@example.com', :hash, '{user}', true"
            " FROM unnest(CAST(:ids AS text[])) AS id"
        ),
        {"ids": ids, "hash": _UNUSED_HASH},
    )
    connection.execute(
        text(
            "INSERT INTO accounts (user_id) SELECT CAST(id AS uuid) FROM unnest(CAST(:ids AS text[])) AS id"
        ),
        {"ids": ids},
    )


def _caller(connection: Connection, role: Role) -> Caller:
    user_id = connection.execute(
        text(
            "INSERT INTO users (email, password_hash, roles, email_verified)"
            " VALUES (:email, :hash, :roles, true) RETURNING id"
        ),
        {
            "email": f"bench-{role.value}-{uuid.uuid4().hex[:12]}@example.com",
            "hash": _UNUSED_HASH,
            "roles": [role.value],
        },
    ).scalar_one()
    connection.execute(text("INSERT INTO accounts (user_id) VALUES (:id)"), {"id": user_id})
    session_id = connection.execute(
        text(
            "INSERT INTO sessions (user_id, expire_time) VALUES (:id, now() + interval '1 day') RETURNING id"
        ),
        {"id": user_id},
    ).scalar_one()
    return Caller(str(user_id), str(session_id), (role,))
