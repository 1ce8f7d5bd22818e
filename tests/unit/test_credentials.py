"""Email addresses and passwords: what is accepted, how it is normalized."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from user_service.domain.credentials import check_password, clean_full_name, normalize_email, password_problem
from user_service.domain.errors import InvalidArgument


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Alice@Example.COM", "alice@example.com"),
        ("  bob.smith+tag@mail.example.org \n", "bob.smith+tag@mail.example.org"),
        ("o'brien_{x}=y@sub-domain.example.com", "o'brien_{x}=y@sub-domain.example.com"),
        ("José@Exämple.Com", "josé@exämple.com"),
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
        # What a To header reads as other recipients or a display name:
        "x,victim@example.com",
        "x;victim@example.com",
        "group:victim@example.com",
        "x<victim@example.com>",
        '"x"victim@example.com',
        "x(comment)@example.com",
        "alice@exam,ple.com",
        "alice..smith@example.com",
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


STRONG_72_BYTES = "Zürich-Kaffee-\u00e7a-mørk-grøn-Schnee-Eichhörnchen-plätzchen-7-ÄÖÜ-"  # exactly 72 bytes


@pytest.mark.parametrize(
    "password", ["correct horse battery staple", "Tr0ub4dor&3x", "pass word", STRONG_72_BYTES]
)
def test_strong_passwords_of_8_characters_to_72_bytes_are_accepted(password):
    check_password(password)


def test_the_72_byte_example_is_72_bytes():
    assert len(STRONG_72_BYTES.encode()) == 72


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("1234567", "at least 8 characters"),
        ("x" * 73, "at most 72 bytes"),
        ("é" * 37, "at most 72 bytes"),  # 37 characters, 74 bytes: never silently cut
        ("12345678", "too common or too easy to guess"),
        ("password1", "too common or too easy to guess"),
        ("qwertyuiop", "too common or too easy to guess"),
        ("aaaaaaaaaaaa", "too common or too easy to guess"),
    ],
)
def test_passwords_outside_the_bounds_or_too_common_are_weak(password, problem):
    with pytest.raises(InvalidArgument) as refused:
        check_password(password)

    assert refused.value.reason == "WEAK_PASSWORD"
    assert problem in refused.value.violations[0].description


@pytest.mark.parametrize(
    "known",
    [["alice.cooper@example.com", ""], ["someone@example.com", "Alice Cooper"]],
    ids=["email", "name"],
)
def test_a_password_made_of_the_users_own_email_or_name_is_weak(known):
    check_password("alicecooper1977")
    with pytest.raises(InvalidArgument):
        check_password("alicecooper1977", known=known)


@given(st.text(min_size=8, max_size=40))
def test_the_byte_rule_holds_whatever_the_strength_rule_says(password):
    fits = len(password.encode()) <= 72
    problem = password_problem(password)

    assert (problem is not None and "at most 72 bytes" in problem) == (not fits)


@pytest.mark.parametrize("name", ["Ada Lovelace", "  Ada  ", "Åsa Öberg-Ñúñez", ""])
def test_names_are_trimmed(name):
    assert clean_full_name(name) == name.strip()


@pytest.mark.parametrize("name", ["x" * 201, "Ada\nLovelace", "Ada\x00", "\x1b[31mred"])
def test_long_names_and_control_characters_are_refused(name):
    with pytest.raises(InvalidArgument) as refused:
        clean_full_name(name)

    assert refused.value.reason == "INVALID_FULL_NAME"


@pytest.mark.parametrize(
    "raw",
    [
        "a\x00@example.com",
        "a@exa\x00mple.com",
        "a\x7f@example.com",
        "a\u200b@example.com",  # zero-width space
        "a\u2028b@example.com",  # line separator
        "a@example\u00a0.com",  # no-break space
    ],
)
def test_emails_with_control_characters_are_invalid(raw):
    with pytest.raises(InvalidArgument):
        normalize_email(raw)
