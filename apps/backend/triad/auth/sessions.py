"""Browser sessions for the console: a random token in an HttpOnly cookie, its SHA-256 in
`user_sessions`, and a per-session CSRF token every form must echo.

Expiry is sliding: each use pushes `expires_at` forward by `session_hours`, but never past
`created_at` + `session_max_days`, so even a session in constant use ends (a stolen cookie does
not live forever). An expired row is deleted when it is next presented. The cookie itself has no
Max-Age (the server decides).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from fastapi import Request, Response
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from triad.db.models import User, UserSession
from triad.settings import Settings

SESSION_COOKIE = "triad_session"
LOGIN_CSRF_COOKIE = "triad_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
# Writing last_seen_at on every request would turn reads into writes; once a minute is enough.
_TOUCH_EVERY = timedelta(minutes=1)


def session_id_for(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _ends_at(created_at: datetime, now: datetime, settings: Settings) -> datetime:
    """The sliding expiry from `now`, capped by the absolute lifetime."""
    return min(
        now + timedelta(hours=settings.session_hours),
        created_at + timedelta(days=settings.session_max_days),
    )


@dataclass(frozen=True)
class ActiveSession:
    """A valid session and its user, as resolved from a cookie."""

    row: UserSession
    user: User


async def create_session(
    session: AsyncSession,
    user: User,
    *,
    settings: Settings,
    user_agent: str | None = None,
    ip: str | None = None,
) -> tuple[str, UserSession]:
    """A new session row; returns the cookie value (shown once) and the row."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    row = UserSession(
        id=session_id_for(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        user_agent=(user_agent or "")[:400] or None,
        ip=ip,
        created_at=now,
        last_seen_at=now,
        expires_at=_ends_at(now, now, settings),
    )
    session.add(row)
    await session.commit()
    return token, row


async def resolve_session(
    session: AsyncSession, token: str, *, settings: Settings
) -> ActiveSession | None:
    """The live session behind a cookie value, sliding its expiry; None when invalid."""
    if not token or len(token) > 200:
        return None
    found = (
        await session.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.id == session_id_for(token))
        )
    ).first()
    if found is None:
        return None
    row, user = found
    now = datetime.now(UTC)
    too_old = row.created_at + timedelta(days=settings.session_max_days) <= now
    if row.expires_at <= now or too_old or not user.is_active:
        await session.execute(delete(UserSession).where(UserSession.id == row.id))
        await session.commit()
        return None
    if now - row.last_seen_at >= _TOUCH_EVERY:
        row.last_seen_at = now
        row.expires_at = _ends_at(row.created_at, now, settings)
        await session.commit()
    return ActiveSession(row=row, user=user)


async def end_session(session: AsyncSession, token: str) -> None:
    """Delete the session behind a cookie value (no error when it is already gone)."""
    await session.execute(delete(UserSession).where(UserSession.id == session_id_for(token)))
    await session.commit()


def cookie_secure(request: Request, settings: Settings) -> bool:
    if settings.cookie_secure == "auto":
        return request.url.scheme == "https"
    return settings.cookie_secure == "true"


def set_session_cookie(
    response: Response, token: str, *, request: Request, settings: Settings
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request, settings),
        path="/",
    )


def clear_session_cookie(response: Response, *, request: Request, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request, settings),
    )


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of CSRF tokens; a missing one never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass")
    )


def safe_next(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None (no open redirects)."""
    if not target or len(target) > 2000:
        return None
    if any(c in target for c in "\\\r\n\t") or not target.startswith("/"):
        return None
    if target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
