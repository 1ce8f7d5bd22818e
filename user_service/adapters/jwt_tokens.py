"""JSON Web Tokens: HS256, with a `kid` header so that secrets can be rotated.

The first secret signs; every secret verifies, so a new secret can be put first while
tokens signed with the old one run out.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

import jwt

ALGORITHM = "HS256"
ISSUER = "user-service"
AUDIENCE = "user-service"
LEEWAY_SECONDS = 5
_ALWAYS_REQUIRED = ("exp", "iat", "iss", "aud", "sub", "jti")


class TokenInvalid(Exception):
    """Unsigned, badly signed, expired, for someone else, or missing a claim."""


def key_id(secret: str) -> str:
    """A stable name for a secret that reveals nothing about it."""
    return hashlib.sha256(b"user-service jwt kid:" + secret.encode()).hexdigest()[:16]


class JwtCodec:
    def __init__(self, secrets: Sequence[str]) -> None:
        if not secrets:
            raise ValueError("JwtCodec needs at least one secret")
        self._keys = {key_id(secret): secret for secret in secrets}
        self._signing_kid = key_id(secrets[0])

    def encode(self, claims: Mapping[str, Any], ttl_seconds: int) -> str:
        now = int(time.time())
        payload = {**claims, "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + ttl_seconds}
        return jwt.encode(
            payload, self._keys[self._signing_kid], algorithm=ALGORITHM, headers={"kid": self._signing_kid}
        )

    def decode(self, token: str, required: Sequence[str] = ()) -> dict[str, Any]:
        try:
            secret = self._keys.get(jwt.get_unverified_header(token).get("kid", ""))
            if secret is None:
                raise TokenInvalid("unknown key id")
            claims: dict[str, Any] = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=LEEWAY_SECONDS,
                options={"require": [*_ALWAYS_REQUIRED, *required]},
            )
        except jwt.PyJWTError as exc:
            raise TokenInvalid(type(exc).__name__) from None
        return claims
