"""Password hashing: argon2id, wrong passwords fail, weak hashes are flagged for re-hashing."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from triad.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from triad.errors import InputError


def test_hash_is_argon2id_and_verifies() -> None:
    hashed = hash_password("a long enough secret")
    assert hashed.startswith("$argon2id$")
    assert "a long enough secret" not in hashed
    assert verify_password(hashed, "a long enough secret")
    assert not verify_password(hashed, "a long enough secreT")
    assert hash_password("a long enough secret") != hashed  # salted


def test_short_password_is_refused_with_its_length() -> None:
    with pytest.raises(InputError, match=f"at least {MIN_PASSWORD_LENGTH} characters.*got 11"):
        hash_password("x" * 11)


def test_malformed_stored_hash_is_a_mismatch_not_a_crash() -> None:
    assert not verify_password("not-a-hash", "whatever password")
    assert needs_rehash("not-a-hash")


def test_weaker_parameters_need_rehash() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("a long enough one")
    assert verify_password(weak, "a long enough one")
    assert needs_rehash(weak)
    assert not needs_rehash(hash_password("a long enough one"))
