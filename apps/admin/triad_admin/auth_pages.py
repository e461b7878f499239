"""The console's sign-in and sign-out pages.

There is no session yet when the login form is posted, so the form is protected by a
double-submit token: a random value in the `triad_login_csrf` cookie that the form must repeat.
A cross-site page can make a browser post the form but cannot read or set that cookie.
"""

from __future__ import annotations

import math
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from triad.api.deps import OptionalPrincipal, Principal, SessionDep, SettingsDep
from triad.api.routes.auth import sign_in
from triad.auth import sessions
from triad.auth.lockout import AccountLockedError
from triad.errors import NotAuthorizedError
from triad_admin.render import render

router = APIRouter(include_in_schema=False)

LANDING = {"admin": "/admin", "staff": "/staff"}


def landing(role: str, target: str | None) -> str:
    """Where to go after signing in: the asked-for local page, else the role's home."""
    safe = sessions.safe_next(target)
    if safe and not safe.startswith(("/login", "/logout")):
        return safe
    return LANDING.get(role, "/staff")


def _login_page(
    request: Request,
    *,
    next_path: str | None,
    error: str | None = None,
    email: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    token = request.cookies.get(sessions.LOGIN_CSRF_COOKIE)
    if not token or len(token) > 64:
        token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {
            "principal": None,
            "csrf_token": token,
            "next": sessions.safe_next(next_path) or "",
            "error": error,
            "email": email,
        },
        status_code=status_code,
    )
    settings = request.app.state.settings
    response.set_cookie(
        sessions.LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=sessions.cookie_secure(request, settings),
        path="/login",
    )
    return response


@router.get("/login", response_model=None)
async def login_form(
    request: Request,
    principal: OptionalPrincipal,
    next_path: Annotated[str | None, Query(alias="next", max_length=2000)] = None,
) -> Response:
    """The sign-in form; someone already signed in goes straight on."""
    if principal is not None and principal.via == "session":
        return RedirectResponse(landing(principal.role, next_path), status_code=303)
    return _login_page(request, next_path=next_path)


@router.post("/login", response_model=None)
async def login_submit(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=2000)] = "",
) -> Response:
    """Check the form; on success set the session cookie and 303 to `next` or the role's home.

    Every failure says the same thing (email or password is wrong) so the page does not tell
    which part was wrong; a locked account says how long to wait (429).
    """
    expected = request.cookies.get(sessions.LOGIN_CSRF_COOKIE)
    if not sessions.tokens_match(expected, csrf_token):
        return _login_page(
            request,
            next_path=next_path,
            email=email,
            error="The sign-in form expired or came from another site; please try again.",
            status_code=403,
        )
    if not email.strip() or not password:
        return _login_page(
            request,
            next_path=next_path,
            email=email,
            error="Enter your email and password.",
            status_code=422,
        )
    try:
        user, token, _ = await sign_in(request, db, settings, email, password)
    except AccountLockedError as exc:
        locked = _login_page(
            request, next_path=next_path, email=email, error=str(exc), status_code=429
        )
        locked.headers["Retry-After"] = str(math.ceil(exc.retry_after))
        return locked
    except NotAuthorizedError as exc:
        return _login_page(
            request, next_path=next_path, email=email, error=str(exc), status_code=401
        )
    response = RedirectResponse(landing(user.role, next_path), status_code=303)
    sessions.set_session_cookie(response, token, request=request, settings=settings)
    response.delete_cookie(sessions.LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", response_model=None)
async def logout(
    request: Request, db: SessionDep, settings: SettingsDep, principal: OptionalPrincipal
) -> Response:
    """End the session (the form carries the CSRF token, checked by the dependency)."""
    response = RedirectResponse("/login", status_code=303)
    cookie = request.cookies.get(sessions.SESSION_COOKIE)
    if _is_session(principal) and cookie:
        await sessions.end_session(db, cookie)
    sessions.clear_session_cookie(response, request=request, settings=settings)
    return response


def _is_session(principal: Principal | None) -> bool:
    return principal is not None and principal.via == "session"
