"""ListUsers' filter: a small part of AIP-160.

    filter   = [ term { "AND" term } ]
    term     = field "=" value
    email    = "alice@example.com"      exact address
             | "ali*"                   addresses starting with "ali"
    role     = ROLE_USER | ROLE_AGENT | ROLE_SERVICE | ROLE_ADMIN
    is_active, email_verified = true | false

Strings are double-quoted (\\" and \\\\ escape); a field appears at most once; `AND` is
upper-case, as AIP-160 has it. Anything else is INVALID_ARGUMENT (INVALID_FILTER).
Example: `role = ROLE_ADMIN AND email = "ops-*"`.
"""

from __future__ import annotations

import re
from dataclasses import replace

from user_service.domain.errors import FieldViolation, InvalidArgument
from user_service.domain.model import Role, UserFilter

MAX_FILTER_LENGTH = 1024
_TERM = re.compile(
    r'\s*(?P<field>[a-z_]+)\s*=\s*(?:"(?P<string>(?:[^"\\]|\\.)*)"|(?P<word>[A-Za-z_]+))\s*(?P<rest>.*)',
    re.DOTALL,
)
_AND = re.compile(r"AND\s(?P<rest>.*)", re.DOTALL)
_BOOLEANS = {"true": True, "false": False}


def _bad(description: str) -> InvalidArgument:
    return InvalidArgument(FieldViolation("filter", description, "INVALID_FILTER"))


def parse_user_filter(text: str) -> UserFilter:
    if len(text) > MAX_FILTER_LENGTH:
        raise _bad(f"must be at most {MAX_FILTER_LENGTH} characters")
    if re.search(r"[\x00-\x1f\x7f]", text.replace("\n", " ").replace("\t", " ")):
        raise _bad("must not hold control characters")
    query = UserFilter()
    seen: set[str] = set()
    rest = text.strip()
    while rest:
        term = _TERM.fullmatch(rest)
        if term is None:
            raise _bad('expected `field = value`, e.g. `role = ROLE_ADMIN AND email = "ops-*"`')
        field, string, word = term["field"], term["string"], term["word"]
        if field in seen:
            raise _bad(f"names {field} twice")
        seen.add(field)
        query = _with(query, field, string, word)
        rest = term["rest"].strip()
        if rest:
            joined = _AND.fullmatch(rest)
            if joined is None:
                raise _bad("terms are joined by AND")
            rest = joined["rest"].strip()
            if not rest:
                raise _bad("ends with AND")
    return query


def _with(query: UserFilter, field: str, string: str | None, word: str | None) -> UserFilter:
    if field == "email":
        if string is None:
            raise _bad("email takes a double-quoted string")
        value = re.sub(r"\\(.)", r"\1", string).lower()
        if value.endswith("*"):
            return replace(query, email_prefix=value[:-1])
        return replace(query, email=value)
    if field == "role":
        roles = {f"ROLE_{role.name}": role for role in Role}
        if word not in roles:
            raise _bad(f"role is one of {', '.join(sorted(roles))}")
        return replace(query, role=roles[word])
    if field in ("is_active", "email_verified"):
        if word not in _BOOLEANS:
            raise _bad(f"{field} is true or false")
        if field == "is_active":
            return replace(query, is_active=_BOOLEANS[word])
        return replace(query, email_verified=_BOOLEANS[word])
    raise _bad(f"unknown field {field!r}: email, role, is_active or email_verified")
