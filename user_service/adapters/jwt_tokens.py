"""JSON Web Tokens: HS256 only, with a `kid` header so that secrets can be rotated.

The first secret signs; every secret verifies, so a new secret can be put first (and the
old one into JWT_PREVIOUS_SECRETS) while tokens signed with the old one run out. A secret
dropped from the list no longer verifies anything. The algorithm is pinned: `none` and
every other algorithm are refused, whatever the token's header says.

Each kind of token has an audience of its own, so that a password-reset token is never
taken for an access token, nor the other way round.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

import jwt

ALGORITHM = "HS256"
ISSUER = "user-service"
AUDIENCE = "user-service"  # access tokens
RESET_AUDIENCE = "user-service:password-reset"
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

    def encode(self, claims: Mapping[str, Any], ttl_seconds: int, audience: str = AUDIENCE) -> str:
        now = int(time.time())
        payload = {**claims, "iss": ISSUER, "aud": audience, "iat": now, "exp": now + ttl_seconds}
        return jwt.encode(
            payload, self._keys[self._signing_kid], algorithm=ALGORITHM, headers={"kid": self._signing_kid}
        )

    def decode(self, token: str, required: Sequence[str] = (), audience: str = AUDIENCE) -> dict[str, Any]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            secret = self._keys.get(kid) if isinstance(kid, str) else None
            if secret is None:
                raise TokenInvalid("unknown key id")
            claims: dict[str, Any] = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=ISSUER,
                leeway=LEEWAY_SECONDS,
                options={"require": [*_ALWAYS_REQUIRED, *required]},
            )
        except jwt.PyJWTError as exc:
            raise TokenInvalid(type(exc).__name__) from None
        return claims
