"""Email addresses and passwords: what is accepted, how it is normalized."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from user_service.domain.credentials import check_password, normalize_email
from user_service.domain.errors import InvalidArgument


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Alice@Example.COM", "alice@example.com"),
        ("  bob.smith+tag@mail.example.org \n", "bob.smith+tag@mail.example.org"),
    ],
)
def test_emails_are_trimmed_and_lower_cased(raw, normalized):
    assert normalize_email(raw) == normalized


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "alice",
        "alice@",
        "@example.com",
        "alice@localhost",
        "a b@example.com",
        "a@b@c.com",
        "alice@example.",
    ],
)
def test_malformed_emails_are_invalid_email(raw):
    with pytest.raises(InvalidArgument) as refused:
        normalize_email(raw)

    assert refused.value.reason == "INVALID_EMAIL"
    assert [v.field for v in refused.value.violations] == ["email"]


def test_overlong_email_is_refused():
    with pytest.raises(InvalidArgument):
        normalize_email("a" * 250 + "@example.com")


@pytest.mark.parametrize("password", ["12345678", "é" * 36, "x" * 72, "pass word"])
def test_passwords_of_8_characters_to_72_bytes_are_accepted(password):
    check_password(password)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("1234567", "at least 8 characters"),
        ("x" * 73, "at most 72 bytes"),
        ("é" * 37, "at most 72 bytes"),  # 37 characters, 74 bytes: never silently cut
    ],
)
def test_passwords_outside_the_bounds_are_weak(password, problem):
    with pytest.raises(InvalidArgument) as refused:
        check_password(password)

    assert refused.value.reason == "WEAK_PASSWORD"
    assert problem in refused.value.violations[0].description


@given(st.text(min_size=8))
def test_a_password_is_accepted_exactly_when_it_fits_bcrypt(password):
    fits = len(password.encode()) <= 72
    try:
        check_password(password)
    except InvalidArgument:
        assert not fits
    else:
        assert fits
