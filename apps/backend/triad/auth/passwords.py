"""Password hashing with argon2id (argon2-cffi); the parameters live in the hash itself.

A hash made with weaker parameters than today's defaults is re-made at the next good login,
so raising the cost later needs no migration.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from triad.errors import InputError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified when the email is unknown, so a miss costs as long as a wrong password."""
    return _hasher.hash("triad-dummy-password-for-timing")


def check_strength(password: str) -> None:
    """Refuse passwords too short to resist guessing (or absurdly long ones)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters long (got {len(password)})"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InputError(f"password must be at most {MAX_PASSWORD_LENGTH} characters long")


def hash_password(password: str) -> str:
    """An argon2id hash ($argon2id$...) of a password that passed `check_strength`."""
    check_strength(password)
    return _hasher.hash(password)


def rehash_password(password: str) -> str:
    """A fresh hash of a password that just verified (no strength check: it is already set)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches; a malformed stored hash counts as a mismatch."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the current ones."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def burn_dummy_verify(password: str) -> None:
    """Spend the time of one verification, for logins whose email is unknown."""
    verify_password(_dummy_hash(), password)
