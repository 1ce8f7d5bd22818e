"""The bcrypt hasher owns bcrypt's 72-byte rule: it never hashes more than it reads, and a
longer password never matches (bcrypt 5 would raise instead)."""

from __future__ import annotations

import bcrypt
import pytest

from user_service.adapters.passwords import MAX_PASSWORD_BYTES, BcryptHasher, fits

HASHER = BcryptHasher(rounds=4)
PASSWORD = "correct horse battery staple"


def test_a_password_matches_its_hash_and_nothing_else():
    stored = HASHER.hash(PASSWORD)

    assert stored.startswith("$2b$04$")
    assert HASHER.verify(PASSWORD, stored)
    assert not HASHER.verify(PASSWORD + "!", stored)


@pytest.mark.parametrize("password", ["x" * 73, "é" * 37, "x" * 72 + "y", "z" * 10_000])
def test_a_password_longer_than_bcrypt_reads_never_matches_and_never_raises(password):
    stored = HASHER.hash(password.encode()[:MAX_PASSWORD_BYTES].decode(errors="ignore"))

    assert HASHER.verify(password, stored) is False


def test_a_password_longer_than_bcrypt_reads_is_never_hashed_cut_short():
    with pytest.raises(ValueError, match="cannot be hashed whole"):
        HASHER.hash("x" * 73)


def test_a_72_byte_password_is_read_whole():
    password = "é" * 36  # 72 bytes
    stored = HASHER.hash(password)

    assert fits(password)
    assert HASHER.verify(password, stored)
    assert not HASHER.verify("é" * 35 + "e", stored)
    assert bcrypt.checkpw(password.encode(), stored.encode())
