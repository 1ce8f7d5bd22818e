"""Who is calling: an access token turned into a Principal."""

from __future__ import annotations

import uuid

from user_service.adapters.jwt_tokens import JwtCodec, TokenInvalid
from user_service.domain.errors import Unauthenticated
from user_service.domain.model import Principal, Role


class TokenAuthenticator:
    """Checks an access token's signature, expiry and claims (sub, roles, sid, jti)."""

    def __init__(self, codec: JwtCodec) -> None:
        self._codec = codec

    def __call__(self, token: str) -> Principal:
        try:
            claims = self._codec.decode(token, required=("sid", "roles"))
            return Principal(
                user_id=uuid.UUID(claims["sub"]),
                roles=frozenset(Role(role) for role in claims["roles"]),
                session_id=str(claims["sid"]),
                token_id=str(claims["jti"]),
            )
        except (TokenInvalid, ValueError, TypeError):
            raise Unauthenticated("INVALID_TOKEN", "the access token is invalid or has expired") from None
