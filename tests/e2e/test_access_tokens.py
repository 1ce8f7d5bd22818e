"""What the token check refuses: every forgery and mishap, on the real server; and secret
rotation: a token signed with a previous secret still works, a retired secret's does not."""

from __future__ import annotations

import time
import uuid
import warnings

import grpc
import jwt
import pytest

from tests.support.auth_client import Caller
from tests.support.identities import Identity, make_identity
from tests.support.network import SERVING, free_port, wait_for_health
from tests.support.server_process import TEST_JWT_SECRET, start_service
from user_service.adapters.jwt_tokens import key_id

OTHER_SECRET = "some-other-secret-0123456789abcdefghijklmnop"


@pytest.fixture
def identity(engine) -> Identity:
    return make_identity(engine, "admin")


def forged(
    identity: Identity, *, key: str = TEST_JWT_SECRET, algorithm: str = "HS256", **changes: object
) -> str:
    """A token for the identity's live session, valid but for what `changes` says."""
    now = int(time.time())
    claims = {
        "sub": str(identity.user_id),
        "roles": ["admin"],
        "sid": str(identity.session_id),
        "jti": uuid.uuid4().hex,
        "iss": "user-service",
        "aud": "user-service",
        "iat": now,
        "exp": now + 600,
    }
    headers = {"kid": changes.pop("kid", key_id(TEST_JWT_SECRET))}
    claims.update(changes)
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None}, key, algorithm=algorithm, headers=headers
    )


def tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    return ".".join(
        (header, payload, signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB"))
    )


def hs512(identity: Identity) -> str:
    """The right secret with another algorithm (PyJWT warns that it is short for HS512)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return forged(identity, algorithm="HS512")


def unsigned(identity: Identity) -> str:
    return forged(identity, key="", algorithm="none")


CASES = {
    "alg-none": unsigned,
    "hs512": hs512,
    "wrong-audience": lambda i: forged(i, aud="another-service"),
    "wrong-issuer": lambda i: forged(i, iss="someone-else"),
    "expired": lambda i: forged(i, exp=int(time.time()) - 60, iat=int(time.time()) - 3700),
    "tampered": lambda i: tampered(forged(i)),
    "other-secret": lambda i: forged(i, key=OTHER_SECRET),
    "unknown-kid": lambda i: forged(i, kid="0123456789abcdef"),
    "no-session-claim": lambda i: forged(i, sid=None),
    "reset-token-as-access": lambda i: forged(i, aud="user-service:password-reset", pwf="x"),
}


def test_a_good_forgery_is_accepted_so_the_others_fail_for_their_one_flaw(service, identity):
    assert Caller(service.channel, token=forged(identity)).call("GetMe").user.id == str(identity.user_id)


@pytest.mark.parametrize("case", list(CASES))
def test_bad_tokens_are_refused(service, identity, case):
    code, reason = Caller(service.channel, token=CASES[case](identity)).refused("GetMe")

    assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "INVALID_TOKEN")


def test_a_token_of_another_users_session_is_refused(service, engine, identity):
    other = make_identity(engine)
    token = forged(identity, sid=str(other.session_id))

    assert Caller(service.channel, token=token).refused("GetMe")[0] == grpc.StatusCode.UNAUTHENTICATED


ROTATED = "new-secret-after-rotation-0123456789abcdefghijkl"
RETIRED = "retired-secret-0123456789abcdefghijklmnopqrstu"


def test_rotation_previous_secrets_verify_and_retired_ones_do_not(service_settings, engine, tmp_path):
    settings = {**service_settings, "JWT_SECRET": ROTATED, "JWT_PREVIOUS_SECRETS": TEST_JWT_SECRET}
    with start_service(settings, free_port(), tmp_path / "server.log") as server:
        wait_for_health(server.channel, SERVING)
        by_previous = make_identity(engine, secret=TEST_JWT_SECRET)
        by_retired = make_identity(engine, secret=RETIRED)

        assert Caller(server.channel, token=by_previous.token).call("GetMe").user.id == str(
            by_previous.user_id
        )
        assert Caller(server.channel, token=by_retired.token).refused("GetMe") == (
            grpc.StatusCode.UNAUTHENTICATED,
            "INVALID_TOKEN",
        )
        issued = Caller(server.channel).login(by_previous.email).access_token
        assert jwt.get_unverified_header(issued)["kid"] == key_id(ROTATED)
    assert TEST_JWT_SECRET not in server.output()
    assert ROTATED not in server.output()
