"""FastAPI dependencies, declared once as `Annotated` aliases."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from triad.auth import keys, throttle
from triad.auth.keys import KeyGrant
from triad.auth.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    resolve_session,
    tokens_match,
)
from triad.auth.users import user_for_token
from triad.db.models import User
from triad.errors import (
    ForbiddenError,
    LoginRequiredError,
    NotAuthorizedError,
    TooManyRequestsError,
)
from triad.knowledge.embedding import Embedder
from triad.runtime import Runtime
from triad.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.session_factory() as session:
        yield session


def get_embedder_dep(request: Request) -> Embedder:
    embedder: Embedder = request.app.state.embedder()
    return embedder


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


Role = Literal["staff", "admin"]


@dataclass(frozen=True)
class Principal:
    """Who is calling a staff or admin API or page.

    `via` says how they proved it: a browser session (cookie), a per-user API token, or one of
    the service tokens from the environment (TRIAD_STAFF_TOKEN / TRIAD_ADMIN_TOKEN, for
    machines; they have no user row, so `user_id` is None). `csrf_token` is set for sessions:
    every form posted from a session must carry it.
    """

    role: Role
    via: Literal["session", "token", "service"]
    user_id: int | None = None
    email: str | None = None
    display_name: str = ""
    csrf_token: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _raw(text: str) -> bytes:
    """Bytes for a constant-time comparison: `hmac.compare_digest` refuses non-ASCII str (a
    header like `Bearer café` would be a 500), and surrogatepass makes the encoding total."""
    return text.encode("utf-8", "surrogatepass")


def _service_principal(settings: Settings, authorization: str | None) -> Principal | None:
    """The environment's service tokens; compared in constant time, as bytes."""
    if not authorization:
        return None
    given = _raw(authorization)
    tokens: tuple[tuple[Role, SecretStr | None], ...] = (
        ("admin", settings.admin_token),
        ("staff", settings.staff_token),
    )
    for role, secret in tokens:
        if secret is not None and hmac.compare_digest(
            given, _raw(f"Bearer {secret.get_secret_value()}")
        ):
            return Principal(role=role, via="service", display_name=f"{role} service token")
    return None


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _principal_of(user: User, via: Literal["session", "token"], csrf: str | None) -> Principal:
    role: Role = "admin" if user.role == "admin" else "staff"
    return Principal(
        role=role,
        via=via,
        user_id=user.id,
        email=user.email,
        display_name=user.display_name or user.email,
        csrf_token=csrf,
    )


async def _check_csrf(request: Request, expected: str | None) -> None:
    """Unsafe methods from a browser session must echo the session's CSRF token.

    The form is parsed only when the body is a form; Starlette caches it on the request, so
    the route can still read it.
    """
    if request.method in _SAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "").lower()
    if given is None and content_type.startswith(_FORM_TYPES):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not tokens_match(expected, given):
        raise ForbiddenError(
            f"CSRF token missing or wrong: send the session's token in the '{CSRF_FIELD}' "
            f"form field or the {CSRF_HEADER} header"
        )


async def _resolve_principal(request: Request, authorization: str | None) -> Principal | None:
    """Service token, then a per-user bearer token, then the session cookie; None if none.

    A bearer token that is present but wrong is not a fallback to the cookie: it is refused.
    The result is kept on `request.state.principal` (pages and error pages read it).
    """
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    settings: Settings = request.app.state.settings
    principal = _service_principal(settings, authorization)
    if principal is None and authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            async with request.app.state.session_factory() as db:
                user = await user_for_token(db, credentials.strip())
            if user is not None:
                principal = _principal_of(user, "token", None)
    if principal is None and not authorization:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            async with request.app.state.session_factory() as db:
                active = await resolve_session(db, cookie, settings=settings)
            if active is not None:
                principal = _principal_of(active.user, "session", active.row.csrf_token)
                await _check_csrf(request, principal.csrf_token)
    request.state.principal = principal
    return principal


async def current_principal(
    request: Request,
    authorization: Annotated[
        str | None, Header(description="Bearer <API token>; browsers use the session cookie")
    ] = None,
) -> Principal:
    """Whoever is calling, or NotAuthorizedError (401)."""
    principal = await _resolve_principal(request, authorization)
    if principal is None:
        raise NotAuthorizedError("staff credentials are missing or wrong")
    return principal


async def optional_principal(
    request: Request,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Principal | None:
    """Whoever is calling, or None for an anonymous visitor (the login page uses it)."""
    return await _resolve_principal(request, authorization)


async def require_staff(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    """Staff or admin."""
    return principal


async def require_admin(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    """Admins only; a staff member gets 403."""
    if not principal.is_admin:
        raise ForbiddenError("this needs the admin role")
    return principal


async def require_staff_page(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    """Console pages: an anonymous visitor is sent to the login page (303), not given 401."""
    if principal is None:
        raise LoginRequiredError("sign in to see this page")
    return principal


async def require_admin_page(
    principal: Annotated[Principal, Depends(require_staff_page)],
) -> Principal:
    """Admin pages: anonymous -> login page; staff -> the 403 page."""
    if not principal.is_admin:
        raise ForbiddenError("this page needs the admin role")
    return principal


KEY_REQUIRED = (
    "an API key is required: send 'Authorization: Bearer <key>' (an admin makes one with "
    "`triad keys create`)"
)
api_key_scheme = HTTPBearer(
    bearerFormat="sk-triad-...",
    scheme_name="ApiKey",
    description="a key made by an admin (`triad keys create`); what the OpenAI SDK sends",
    auto_error=False,
)


async def machine_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(api_key_scheme)],
) -> KeyGrant | None:
    """The API key of a `/v1` or `/llm/complete` call, its rate limit and budget checked:
    401 without a live key (unless TRIAD_ALLOW_ANONYMOUS_API is on: then None), 429 over the
    key's requests per minute or once its budget is spent."""
    settings: Settings = request.app.state.settings
    if credentials is None:
        if request.headers.get("authorization") or not settings.allow_anonymous_api:
            raise NotAuthorizedError(KEY_REQUIRED)
        return None
    async with request.app.state.session_factory() as db:
        grant = await keys.admit(db, credentials.credentials.strip())
    if grant is None:
        raise NotAuthorizedError("the API key is wrong or revoked")
    return grant


async def limit_chat_sessions(request: Request) -> None:
    """At most `chat_session_ip_limit` anonymous chat sessions per client address per window,
    counted in PostgreSQL so every replica sees the same count (429 with Retry-After)."""
    settings: Settings = request.app.state.settings
    if not settings.chat_session_ip_limit:
        return
    client = request.client.host if request.client else "unknown"
    async with request.app.state.session_factory() as db:
        verdict = await throttle.hit(
            db,
            f"chat-session-ip:{client}",
            limit=settings.chat_session_ip_limit,
            window_seconds=settings.chat_session_ip_window_seconds,
        )
    if not verdict.allowed:
        raise TooManyRequestsError(
            f"too many new chat sessions from your address (at most "
            f"{settings.chat_session_ip_limit} per {settings.chat_session_ip_window_seconds:g} s)",
            retry_after=verdict.retry_after,
        )


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
EmbedderDep = Annotated[Embedder, Depends(get_embedder_dep)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
StaffDep = Depends(require_staff)
AdminDep = Depends(require_admin)
CurrentStaff = Annotated[Principal, Depends(require_staff)]
CurrentAdmin = Annotated[Principal, Depends(require_admin)]
StaffPage = Annotated[Principal, Depends(require_staff_page)]
AdminPage = Annotated[Principal, Depends(require_admin_page)]
StaffPageDep = Depends(require_staff_page)
AdminPageDep = Depends(require_admin_page)
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
ApiKeyDep = Annotated[KeyGrant | None, Depends(machine_key)]
ChatSessionLimit = Depends(limit_chat_sessions)
