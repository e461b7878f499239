"""Sign in and out from a program or a single-page client: the same session cookie as the
console pages, plus the CSRF token the client must echo in X-CSRF-Token on unsafe requests.

JSON logins need no login-CSRF token: a cross-site form cannot send `application/json`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from triad.api.deps import Principal, SessionDep, SettingsDep, current_principal
from triad.auth import sessions
from triad.auth.users import authenticate
from triad.db.models import User
from triad.settings import Settings

CurrentPrincipal = Annotated[Principal, Depends(current_principal)]

router = APIRouter(prefix="/auth", tags=["auth"])


def client_address(request: Request) -> str:
    """The caller's address as the server saw it (behind a proxy, run uvicorn with
    --proxy-headers and --forwarded-allow-ips so this is the client, not the proxy)."""
    return request.client.host if request.client else "unknown"


async def sign_in(
    request: Request, db: AsyncSession, settings: Settings, email: str, password: str
) -> tuple[User, str, str]:
    """Check the password and open a session: (user, cookie value, CSRF token).

    A session cookie the browser already holds is ended first: a login always starts a fresh
    session, so a cookie planted before sign-in (session fixation) or left over is worthless.
    """
    user = await authenticate(
        db,
        email,
        password,
        settings=settings,
        client=client_address(request),
    )
    previous = request.cookies.get(sessions.SESSION_COOKIE)
    if previous:
        await sessions.end_session(db, previous)
    token, row = await sessions.create_session(
        db,
        user,
        settings=settings,
        user_agent=request.headers.get("user-agent"),
        ip=client_address(request),
    )
    return user, token, row.csrf_token


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    id: int | None
    email: str | None
    role: Literal["staff", "admin"]
    display_name: str


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str = Field(description="echo it in X-CSRF-Token on POST/PUT/PATCH/DELETE")


class MeOut(BaseModel):
    user: UserOut
    via: Literal["session", "token", "service"]
    csrf_token: str | None


@router.post("/login")
async def login(
    body: LoginIn, request: Request, response: Response, db: SessionDep, settings: SettingsDep
) -> LoginOut:
    """Sign in: sets the HttpOnly session cookie. 401 when wrong; 429 (Retry-After) when the
    account is locked or this address made too many sign-in attempts in the last minute."""
    user, token, csrf = await sign_in(request, db, settings, body.email, body.password)
    sessions.set_session_cookie(response, token, request=request, settings=settings)
    role: Literal["staff", "admin"] = "admin" if user.role == "admin" else "staff"
    return LoginOut(
        user=UserOut(id=user.id, email=user.email, role=role, display_name=user.display_name),
        csrf_token=csrf,
    )


@router.post("/logout", status_code=204)
async def logout(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> Response:
    """End the browser session (CSRF-checked like any unsafe request) and clear the cookie."""
    response = Response(status_code=204)
    cookie = request.cookies.get(sessions.SESSION_COOKIE)
    if principal.via == "session" and cookie:
        await sessions.end_session(db, cookie)
        sessions.clear_session_cookie(response, request=request, settings=settings)
    return response


@router.get("/me")
async def me(principal: CurrentPrincipal) -> MeOut:
    """Who the credentials belong to, and the CSRF token when signed in with a session."""
    return MeOut(
        user=UserOut(
            id=principal.user_id,
            email=principal.email,
            role=principal.role,
            display_name=principal.display_name,
        ),
        via=principal.via,
        csrf_token=principal.csrf_token,
    )
