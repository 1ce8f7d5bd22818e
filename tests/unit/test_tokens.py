"""Access tokens: signing, rotation by key id, and what the authenticator accepts."""

from __future__ import annotations

import hashlib
import time
import uuid

import jwt
import pytest

from user_service.adapters.jwt_tokens import AUDIENCE, ISSUER, JwtCodec, TokenInvalid, key_id

OLD = "old-secret-" + "0123456789" * 6  # 64+ bytes: long enough even for the HS512 forgery
NEW = "new-secret-" + "0123456789" * 6


def claims(**overrides):
    return {"sub": str(uuid.uuid4()), "roles": ["user"], "sid": "s1", "jti": "t1", **overrides}


def test_a_token_decodes_to_its_claims_with_issuer_audience_and_expiry():
    token = JwtCodec([NEW]).encode(claims(sub="abc"), ttl_seconds=60)

    decoded = JwtCodec([NEW]).decode(token)

    assert decoded["sub"] == "abc"
    assert decoded["iss"] == ISSUER
    assert decoded["aud"] == AUDIENCE
    assert decoded["exp"] - decoded["iat"] == 60
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT", "kid": key_id(NEW)}


def test_tokens_signed_with_the_previous_secret_verify_during_rotation():
    old_token = JwtCodec([OLD]).encode(claims(), ttl_seconds=60)
    rotating = JwtCodec([NEW, OLD])

    assert rotating.decode(old_token)["jti"] == "t1"
    assert jwt.get_unverified_header(rotating.encode(claims(), 60))["kid"] == key_id(NEW)
    with pytest.raises(TokenInvalid):
        JwtCodec([NEW]).decode(old_token)


def test_key_ids_are_stable_across_releases_and_differ_by_secret():
    """Pods of two releases run side by side during a deploy, and each must find the key
    the other signed with: a secret's key id may never change."""
    assert key_id(NEW) == "948a93207ba0f83c"
    assert key_id(OLD) != key_id(NEW)
    # Not the bare digest of the secret, which would be a ready-made oracle for guessing it.
    assert key_id(NEW) not in hashlib.sha256(NEW.encode()).hexdigest()


def forged(*, key: str = NEW, algorithm: str = "HS256", drop: tuple[str, ...] = (), **overrides) -> str:
    """A token made by hand, valid but for what the arguments change."""
    payload = {
        **claims(),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": int(time.time()) + 60,
        "iat": 0,
        **overrides,
    }
    for name in drop:
        del payload[name]
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": key_id(NEW)})


@pytest.mark.parametrize(
    "forge",
    [
        lambda: forged(exp=int(time.time()) - 60),
        lambda: forged(iss="someone-else"),
        lambda: forged(aud="other-service"),
        lambda: forged(sub="x", drop=("roles", "sid", "jti")),
        lambda: forged(algorithm="HS512"),
        lambda: forged(key="", algorithm="none"),
        lambda: "not.a.token",
    ],
    ids=[
        "expired",
        "other-issuer",
        "other-audience",
        "missing-jti",
        "other-algorithm",
        "unsigned",
        "garbage",
    ],
)
def test_bad_tokens_are_invalid(forge):
    with pytest.raises(TokenInvalid):
        JwtCodec([NEW]).decode(forge(), required=("sid", "roles"))
