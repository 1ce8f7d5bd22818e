"""ListTransactions' page tokens: opaque to callers, strict when read back.

A token is URL-safe base64 of a small JSON object naming the account and the filter it
was made for and the id of the last row handed out; the next page holds the rows with
smaller ids. A token made for another user, currency or filter, or anything that is not
a token, is INVALID_PAGE_TOKEN. Nothing is secret in it: the caller may only read pages
of an account it may read anyway, which the handler checks for every page.
"""

from __future__ import annotations

import base64
import binascii
import json

from user_service.domain.money import Account, TransactionType

_VERSION = 1
_MAX_ID = 2**63 - 1


def encode(account: Account, kind: TransactionType | None, last_id: int) -> str:
    body = {"v": _VERSION, "u": str(account.user_id), "c": account.currency, "t": kind or "", "b": last_id}
    text = json.dumps(body, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(token: str, account: Account, kind: TransactionType | None) -> int | None:
    """The id the next page starts below, or None when the token is not one made for this
    account and filter."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw.decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(body, dict) or set(body) != {"v", "u", "c", "t", "b"}:
        return None
    before = body["b"]
    expected = (_VERSION, str(account.user_id), account.currency, kind or "")
    if (body["v"], body["u"], body["c"], body["t"]) != expected:
        return None
    if type(before) is not int or not 1 <= before <= _MAX_ID:
        return None
    if encode(account, kind, before) != token:  # one spelling per token: no padding, no variants
        return None
    return before
