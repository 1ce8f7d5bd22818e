"""What a Balance call's arguments must be, every bad field reported at once, and the
fingerprint that tells a retry from another call reusing its request_id."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from user_service.domain.balance_arguments import (
    DEFAULT_HOLD_TTL,
    MAX_HOLD_TTL,
    Arguments,
    fingerprint,
)
from user_service.domain.errors import InvalidArgument


def refusals(check) -> list[tuple[str, str]]:
    checks = Arguments()
    check(checks)
    with pytest.raises(InvalidArgument) as refused:
        checks.check()
    return [(v.field, v.reason) for v in refused.value.violations]


def test_good_arguments_pass_and_come_back_parsed():
    checks = Arguments()
    user = uuid.uuid4()

    assert checks.user_id(str(user).upper()) == user
    assert checks.amount(100, 100) == 100
    assert checks.amount(0, 100, zero_means_all=True) == 0
    assert checks.request_id("r" * 64) == "r" * 64
    assert checks.text("ünïcödé and emoji 👍🏽", "description", "INVALID_DESCRIPTION")
    assert checks.ttl(None) == DEFAULT_HOLD_TTL
    assert checks.ttl(MAX_HOLD_TTL) == MAX_HOLD_TTL
    assert checks.ttl(timedelta(microseconds=1)) == timedelta(microseconds=1)
    assert (checks.page_size(0), checks.page_size(7), checks.page_size(501)) == (50, 7, 500)
    checks.check()


def test_every_bad_field_is_reported_in_order():
    def check(checks: Arguments) -> None:
        checks.user_id("nope", "from_user_id")
        checks.hold_id(str(uuid.uuid4()).replace("-", ""))
        checks.amount(0, 100)
        checks.amount(101, 100)
        checks.request_id("")
        checks.request_id("x" * 65)
        checks.text("d" * 201, "description", "INVALID_DESCRIPTION")
        checks.text("ref\x00", "reference", "INVALID_REFERENCE")
        checks.ttl(timedelta(0))
        checks.ttl(MAX_HOLD_TTL + timedelta(microseconds=1))
        checks.page_size(-1)

    assert refusals(check) == [
        ("from_user_id", "INVALID_USER_ID"),
        ("hold_id", "INVALID_HOLD_ID"),
        ("amount", "INVALID_AMOUNT"),
        ("amount", "INVALID_AMOUNT"),
        ("request_id", "MISSING_REQUEST_ID"),
        ("request_id", "INVALID_REQUEST_ID"),
        ("description", "INVALID_DESCRIPTION"),
        ("reference", "INVALID_REFERENCE"),
        ("ttl", "INVALID_TTL"),
        ("ttl", "INVALID_TTL"),
        ("page_size", "INVALID_PAGE_SIZE"),
    ]


@pytest.mark.parametrize("character", ["\x00", "\n", "\t", "\x1b", "\x7f", "\x85"])
def test_control_characters_never_reach_the_database(character):
    assert refusals(lambda checks: checks.request_id(f"a{character}b")) == [
        ("request_id", "INVALID_REQUEST_ID")
    ]
    assert refusals(lambda checks: checks.text(character, "description", "INVALID_DESCRIPTION")) == [
        ("description", "INVALID_DESCRIPTION")
    ]


def test_a_fingerprint_names_the_rpc_and_every_argument():
    base = fingerprint("Deposit", "u", "USD", 100, "")

    assert base == fingerprint("Deposit", "u", "USD", 100, "")
    assert len(base) == 64
    assert base != fingerprint("Withdraw", "u", "USD", 100, "")
    assert base != fingerprint("Deposit", "u", "USD", 101, "")
    assert base != fingerprint("Deposit", "u", "USD", 100, " ")
    assert fingerprint("T", "a,b", "c") != fingerprint("T", "a", "b,c")


def test_a_fingerprint_stays_what_the_ledger_already_holds():
    """Rows written before keep matching their retries: the canonical form never drifts."""
    made = fingerprint("Deposit", "00000000-0000-4000-8000-000000000001", "USD", 2500, "top-up \u00e9")

    assert made == "0c1205a0b25f1d969d68b94753f2950f1f036c3d28a0bb7791b4cbc735d44e87"
