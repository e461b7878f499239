"""Staff and admin accounts: creation, passwords, the login check and per-user API tokens.

Customers are not users (they hold a chat session token). Passwords and tokens are never
stored or logged in the clear: passwords as argon2id hashes, API tokens as SHA-256 (they are
long random strings, so a slow hash buys nothing).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

import anyio.to_thread
from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from triad.auth import throttle
from triad.auth.lockout import AccountLockedError, SignInThrottledError
from triad.auth.passwords import (
    burn_dummy_verify,
    hash_password,
    needs_rehash,
    rehash_password,
    verify_password,
)
from triad.db.models import ApiToken, User, UserSession
from triad.errors import ConflictError, InputError, NotAuthorizedError, NotFoundError
from triad.settings import Settings

Role = Literal["staff", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
TOKEN_PREFIX = "triad_"
LOGIN_FAILED = "email or password is wrong"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def normalize_email(email: str) -> str:
    """Emails are compared lower-cased and trimmed; a clear 422 when it is not an email."""
    value = email.strip().lower()
    if not _EMAIL.match(value) or len(value) > 320:
        raise InputError(f"'{email.strip()[:80]}' is not an email address")
    return value


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)} (got '{role}')")


async def find_user(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == normalize_email(email)))


async def get_user(session: AsyncSession, email: str) -> User:
    user = await find_user(session, email)
    if user is None:
        raise NotFoundError(f"no user with email '{normalize_email(email)}'")
    return user


async def create_user(
    session: AsyncSession, email: str, password: str, role: str, display_name: str = ""
) -> User:
    """A new active account; ConflictError when the email is taken."""
    _check_role(role)
    address = normalize_email(email)
    password_hash = await anyio.to_thread.run_sync(hash_password, password)
    if await find_user(session, address) is not None:
        raise ConflictError(f"a user with email '{address}' already exists")
    user = User(
        email=address,
        password_hash=password_hash,
        role=role,
        display_name=display_name.strip(),
        is_active=True,
        failed_logins=0,
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as exc:  # a concurrent create won the race
        await session.rollback()
        raise ConflictError(f"a user with email '{address}' already exists") from exc
    return user


async def set_password(session: AsyncSession, email: str, password: str) -> User:
    """Replace the password, clear any lock and sign the user out everywhere."""
    user = await get_user(session, email)
    user.password_hash = await anyio.to_thread.run_sync(hash_password, password)
    user.failed_logins = 0
    user.locked_until = None
    await session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    await session.commit()
    return user


async def deactivate(session: AsyncSession, email: str) -> User:
    """Disable the account: its sessions end and its tokens are revoked."""
    user = await get_user(session, email)
    user.is_active = False
    await session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    await session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    await session.commit()
    return user


async def authenticate(
    session: AsyncSession,
    email: str,
    password: str,
    *,
    settings: Settings,
    client: str,
) -> User:
    """The user whose email and password these are, or a generic NotAuthorizedError.

    Before any password is hashed, one atomic step checks the limits and counts the attempt:
    the client address's sliding window (SignInThrottledError), then the account's lock
    (AccountLockedError, even with the right password) or, for an unknown email, that email's
    window. So guesses sent in parallel, to one replica or many, cannot get more than
    `login_max_failures` passwords checked before the lock. argon2 runs in a worker thread.
    """
    if settings.login_ip_limit:
        verdict = await throttle.hit(
            session,
            f"login-ip:{client}",
            limit=settings.login_ip_limit,
            window_seconds=settings.login_ip_window_seconds,
        )
        if not verdict.allowed:
            raise SignInThrottledError(verdict.retry_after)
    address = email.strip().lower()
    user = await session.scalar(select(User).where(User.email == address))
    if user is None or not user.is_active:
        digest = hashlib.sha256(address.encode("utf-8", "surrogatepass")).hexdigest()
        verdict = await throttle.hit(
            session,
            f"login-email:{digest}",
            limit=settings.login_max_failures,
            window_seconds=settings.login_lockout_minutes * 60,
        )
        if not verdict.allowed:
            raise AccountLockedError(verdict.retry_after)
        await anyio.to_thread.run_sync(burn_dummy_verify, password)
        raise NotAuthorizedError(LOGIN_FAILED)
    user_id, stored_hash = user.id, user.password_hash
    own_lock = await _count_attempt(session, user_id, settings)
    if not await anyio.to_thread.run_sync(verify_password, stored_hash, password):
        raise NotAuthorizedError(LOGIN_FAILED)  # counted already, before the hash
    await _clear_failures(session, user_id, own_lock)
    if needs_rehash(stored_hash):
        fresh = await anyio.to_thread.run_sync(rehash_password, password)
        await session.execute(
            update(User)
            .where(User.id == user_id, User.password_hash == stored_hash)
            .values(password_hash=fresh)
            .execution_options(synchronize_session=False)
        )
    await session.commit()
    await session.refresh(user)
    return user


async def _count_attempt(
    session: AsyncSession, user_id: int, settings: Settings
) -> datetime | None:
    """Refuse a locked account, else count this attempt as a failure until the password is
    proven right, in one UPDATE: the `login_max_failures`-th attempt sets the lock itself.

    Returns the lock this attempt set (a right password may lift its own lock: four wrong
    guesses and then the right one still sign in), or None. PostgreSQL re-reads the row when a
    concurrent UPDATE got there first, so no attempt is lost and none slips past the lock.
    """
    reached = User.failed_logins + 1 >= settings.login_max_failures
    lock_until = func.now() + timedelta(minutes=settings.login_lockout_minutes)
    counted = await session.execute(
        update(User)
        .where(
            User.id == user_id, or_(User.locked_until.is_(None), User.locked_until <= func.now())
        )
        .values(
            failed_logins=case((reached, 0), else_=User.failed_logins + 1),
            locked_until=case((reached, lock_until), else_=User.locked_until),
        )
        .returning(User.locked_until, func.now())
        .execution_options(synchronize_session=False)
    )
    row = counted.first()
    if row is None:
        await _refuse_locked(session, user_id)
    await session.commit()
    assert row is not None
    locked_until, now = row
    return locked_until if locked_until is not None and locked_until > now else None


async def _refuse_locked(session: AsyncSession, user_id: int) -> None:
    found = await session.execute(select(User.locked_until, func.now()).where(User.id == user_id))
    locked_until, now = found.one()
    await session.rollback()
    left = (locked_until - now).total_seconds() if locked_until is not None else 0.0
    raise AccountLockedError(left)


async def _clear_failures(session: AsyncSession, user_id: int, own_lock: datetime | None) -> None:
    """Reset the counter after a right password, unless a lock set by another attempt holds
    meanwhile: then the login is refused like any login on a locked account."""
    unlocked = or_(User.locked_until.is_(None), User.locked_until <= func.now())
    if own_lock is not None:
        unlocked = or_(unlocked, User.locked_until == own_lock)
    result = await session.execute(
        update(User)
        .where(User.id == user_id, unlocked)
        .values(failed_logins=0, locked_until=None)
        .returning(User.id)
        .execution_options(synchronize_session=False)
    )
    if result.first() is None:
        await _refuse_locked(session, user_id)


# --- API tokens ------------------------------------------------------------------------------


def hash_api_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class NewToken:
    """A freshly made token: `secret` is shown once and never stored."""

    id: int
    name: str
    prefix: str
    secret: str


async def create_token(session: AsyncSession, email: str, name: str) -> NewToken:
    """A new bearer token for the user; only its SHA-256 and a short prefix are kept."""
    label = name.strip()
    if not label:
        raise InputError("a token needs a name (what it is for)")
    user = await get_user(session, email)
    if not user.is_active:
        raise ConflictError(f"user '{user.email}' is deactivated")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id, name=label, token_hash=hash_api_token(secret), prefix=secret[:12]
    )
    session.add(row)
    await session.commit()
    return NewToken(id=row.id, name=row.name, prefix=row.prefix, secret=secret)


async def revoke_token(session: AsyncSession, email: str, name: str) -> int:
    """Revoke the user's live tokens of that name; how many were revoked (NotFound if none)."""
    user = await get_user(session, email)
    result = await session.execute(
        update(ApiToken)
        .where(
            ApiToken.user_id == user.id,
            ApiToken.name == name.strip(),
            ApiToken.revoked_at.is_(None),
        )
        .values(revoked_at=func.now())
    )
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count == 0:
        address = user.email
        await session.rollback()
        raise NotFoundError(f"user '{address}' has no live token named '{name.strip()}'")
    await session.commit()
    return count


async def user_for_token(session: AsyncSession, token: str) -> User | None:
    """The active user owning a live token (its last use is recorded), or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = await session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(
            ApiToken.token_hash == hash_api_token(token),
            ApiToken.revoked_at.is_(None),
            User.is_active.is_(True),
        )
    )
    found = row.first()
    if found is None:
        return None
    api_token, user = found
    now = datetime.now(UTC)
    if api_token.last_used_at is None or now - api_token.last_used_at > timedelta(minutes=1):
        api_token.last_used_at = now
        await session.commit()
    return user
