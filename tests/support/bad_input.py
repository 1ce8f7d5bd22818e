"""Hypothesis strategies for bad input: values for every field of every request message,
read from the message descriptors, and callers with good, foreign and malformed tokens.

Each string field draws from text that breaks things (huge, control characters NUL
included, unicode oddities, SQL, format strings) or from values that mean something for
a field of its name (the ids of real users and holds, taken emails, real tokens), so that
requests get past the first check often enough to reach the deeper ones.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import jwt
from google.protobuf import message_factory
from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

from tests.support.server_process import TEST_JWT_SECRET
from user_service.adapters.jwt_tokens import RESET_AUDIENCE, JwtCodec
from user_service.domain import page_tokens

INT64 = (-(2**63), 2**63 - 1)
INT32 = (-(2**31), 2**31 - 1)
MAX_AMOUNT = 100_000_000  # the server's default MAX_AMOUNT
OTHER_SECRET = "another-services-jwt-secret-0123456789abcdef"

SQL = (
    "'; DROP TABLE users; --",
    "Robert'); DROP TABLE ledger_transactions;--",
    "' OR '1'='1",
    '" OR 1=1 --',
    "1; SELECT pg_sleep(30)",
    "'; UPDATE accounts SET available = available + 1000000; --",
    "$$; TRUNCATE holds; $$",
    "%",
    "_",
    "\\",
    "%_\\'",
    "E'\\x00'",
    "admin'--",
    "\\'; DELETE FROM sessions; --",
    "  '; DROP TABLE holds; --  ",  # kept as sent: the spaces too
)
ODD = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\t\r\n",
    "\x7f\x1b[31m",
    "\u0085",
    "\u202e\u202d",
    "\ufeff",
    "\u200b",
    "\U0001d518\U0001d52b\U0001d526",
    "e\u0301",
    "İß",
    "😀" * 3,
    "%s%s%n",
    "{0}{1}",
    "%(password)s",
    "${jndi:ldap://127.0.0.1/a}",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "null",
    "-1",
    "9223372036854775808",
    "NaN",
)


@cache
def huge_text() -> st.SearchStrategy[str]:
    """Long runs of one character: past every documented limit, some past 1 MiB together."""
    return st.builds(
        lambda character, count: character * count,
        st.sampled_from(["x", "é", "😀", "\x00", "'", " "]),
        st.sampled_from([201, 255, 1025, 10_000, 100_000]),
    )


@cache
def nasty_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(SQL + ODD),
        st.text(max_size=30),
        st.text(st.characters(codec="ascii"), max_size=30),
        st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Co"]), max_size=10),
        huge_text(),
    )


def int_field(low: int, high: int, meaningful: Sequence[int] = ()) -> st.SearchStrategy[int]:
    edges = [low, high, low + 1, high - 1, -1, 0, 1, 2**31 - 1, -(2**31), 2**31, 2**53 + 1]
    edges = [value for value in edges if low <= value <= high]
    return st.one_of(st.sampled_from([*edges, *meaningful]), st.integers(low, high), st.integers(-1000, 1000))


def enum_field(enum: EnumDescriptor) -> st.SearchStrategy[int]:
    return st.one_of(st.sampled_from([value.number for value in enum.values]), st.integers(*INT32))


# ---- Callers


def _token(claims: dict[str, Any], secret: str = TEST_JWT_SECRET, **options: Any) -> str:
    return JwtCodec([secret]).encode(claims, options.pop("ttl", 3600), **options)


def forged_tokens(user_id: uuid.UUID, session_id: uuid.UUID) -> dict[str, str]:
    """Tokens that must not work, each for its own reason."""
    claims = {"sub": str(user_id), "roles": ["admin"], "sid": str(session_id), "jti": uuid.uuid4().hex}
    good = _token(claims)
    now = int(time.time())
    unsigned = jwt.encode(
        {**claims, "iss": "user-service", "aud": "user-service", "iat": now, "exp": now + 60},
        None,  # type: ignore[arg-type]  # PyJWT's stubs want a key even for "none"
        algorithm="none",
    )
    return {
        "other secret": _token(claims, OTHER_SECRET),
        "reset audience": _token(claims, audience=RESET_AUDIENCE),
        "expired": _token(claims, ttl=-3600),
        "alg none": unsigned,
        "tampered": good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
        "no sid": _token({k: v for k, v in claims.items() if k != "sid"}),
        "sid not a uuid": _token({**claims, "sid": "'; DROP TABLE sessions; --"}),
        "sub not a uuid": _token({**claims, "sub": 12345}),
        "roles not a list": _token({**claims, "roles": "admin"}),
        "unknown session": _token({**claims, "sid": str(uuid.uuid4())}),
        "someone else's session": _token({**claims, "sub": str(uuid.uuid4())}),
        "garbage": "not.a.jwt",
        "three dots": "...",
        "base64 json": base64.urlsafe_b64encode(json.dumps(claims).encode()).decode(),
    }


def header_values(valid: str) -> list[str]:
    """authorization values built around a token."""
    return [f"Bearer {valid}", f"bearer   {valid}  ", f"Basic {valid}", valid, "Bearer", "Bearer ", ""]


@cache
def ascii_header() -> st.SearchStrategy[str]:
    """Whatever a client may put in a metadata value: printable ASCII."""
    return st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200)


# x-forwarded-for values that are not one plain address (none of them is bound to).
ODD_ADDRESSES = ("fe80::1%eth0", "::1", "2001:db8::7", "garbage", "1.2.3.4, x", "", "0.0.0.0")  # noqa: S104


@cache
def forwarded_for() -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(
            lambda a, b, c: f"198.18.{a}.{b}" + (f", 198.19.0.{c}" if c else ""),
            st.integers(0, 255),
            st.integers(1, 254),
            st.integers(0, 3),
        ),
        st.sampled_from(ODD_ADDRESSES),
        ascii_header(),
    )


# ---- Messages from descriptors


Named = dict[str, Callable[[], st.SearchStrategy[Any]]]


def message_strategy(cls: type[Message], named: Named) -> st.SearchStrategy[Message]:
    """Messages of `cls`. Each field is drawn from `named[field name]`, values
    meaningful for it (7 in 10, when there are any), from the bad values for its type (2 in
    10), or left out (1 in 10), so that many requests get past the first checks and reach
    the database. (Hypothesis favours the first choices, and shrinks towards them.)"""
    descriptor: Any = cls.DESCRIPTOR  # upb's Descriptor or the pure-Python one, alike
    fields = {
        field.name: (
            named[field.name]() if field.name in named else None,
            st.lists(_bad(field, named), max_size=6) if field.is_repeated else _bad(field, named),
        )
        for field in descriptor.fields
    }

    @st.composite
    def build(draw: st.DrawFn) -> Message:
        message = cls()
        for name, (meaningful, bad) in fields.items():
            choice = draw(st.integers(0, 9))
            if choice == 9:
                continue
            value = draw(meaningful if choice < 7 and meaningful is not None else bad)
            field = descriptor.fields_by_name[name]
            if field.is_repeated:
                getattr(message, name).extend(value)
            elif field.type == FieldDescriptor.TYPE_MESSAGE:
                getattr(message, name).CopyFrom(value)
            else:
                setattr(message, name, value)
        return message

    return build()


def _bad(field: FieldDescriptor, named: Named) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_MESSAGE:
        assert field.message_type is not None
        return message_strategy(message_factory.GetMessageClass(field.message_type), named)
    if kind == FieldDescriptor.TYPE_STRING:
        base: st.SearchStrategy[Any] = nasty_text()
    elif kind == FieldDescriptor.TYPE_INT64:
        base = int_field(*INT64, meaningful=(MAX_AMOUNT, MAX_AMOUNT + 1, 100))
    elif kind == FieldDescriptor.TYPE_INT32:
        base = int_field(*INT32, meaningful=(500, 501, 50))
    elif kind == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None
        base = enum_field(field.enum_type)
    elif kind == FieldDescriptor.TYPE_BOOL:
        base = st.booleans()
    else:
        raise AssertionError(f"no strategy for {field.full_name} of type {kind}")
    return base


def page_token_for(query: str, position: Sequence[str | int]) -> str:
    """A page token as the service makes them (they are opaque to callers, not secret)."""
    return page_tokens.encode(query, position)
