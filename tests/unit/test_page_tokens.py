"""ListTransactions page tokens: opaque, and refused anywhere but the listing they came from."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from user_service.domain.money import Account, TransactionType
from user_service.domain.page_tokens import decode, encode

ALICE = Account(uuid.uuid4())


def test_a_token_reads_back_in_its_own_listing():
    assert decode(encode(ALICE, None, 42), ALICE, None) == 42
    deposits = encode(ALICE, TransactionType.DEPOSIT, 7)
    assert decode(deposits, ALICE, TransactionType.DEPOSIT) == 7


def forged(**changes) -> str:
    body = {"v": 1, "u": str(ALICE.user_id), "c": "USD", "t": "", "b": 5, **changes}
    text = json.dumps(body, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        encode(Account(uuid.uuid4()), None, 42),  # another user's
        encode(Account(ALICE.user_id, "EUR"), None, 42),  # another currency's
        encode(ALICE, TransactionType.WITHDRAWAL, 42),  # another filter's
        encode(ALICE, None, 42) + "==",  # padded: not the spelling handed out
        "not a token",
        "",
        "e30",  # {}
        forged(b=0),
        forged(b=-1),
        forged(b="5"),
        forged(b=True),
        forged(b=2**63),
        forged(v=2),
        forged(extra=1),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
def test_anything_else_is_refused(token):
    assert decode(token, ALICE, None) is None
