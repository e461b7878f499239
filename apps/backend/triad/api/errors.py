"""Translate the error tree into HTTP once, so routes just raise.

Callers get a 4xx naming what is wrong, or a 5xx that says which upstream failed; never a bare
500 with a stack trace.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from triad import errors
from triad.auth.lockout import AccountLockedError

log = logging.getLogger(__name__)


def status_for(exc: errors.TriadError) -> int:
    """The one mapping from the error tree to HTTP status codes."""
    match exc:
        case errors.InputError() | errors.UnknownModelError():
            return 422
        case errors.RequestCapExceededError():
            return 422
        case errors.BudgetExceededError():
            return 429
        case errors.ContentFilteredError():
            return 422
        case AccountLockedError():
            return 429
        case errors.ForbiddenError():
            return 403
        case errors.NotAuthorizedError():
            return 401
        case errors.NotFoundError():
            return 404
        case errors.ConflictError():
            return 409
        case errors.ConfigurationError():
            return 503
        case errors.RateLimitedError():
            return 429
        case errors.ProviderTimeoutError():
            return 504
        case errors.AllProvidersFailedError():
            return 503
        case _:
            return 502


def public_name(exc: errors.TriadError) -> str:
    """The error's name in the published tree (internal subclasses report their parent)."""
    return next(c.__name__ for c in type(exc).__mro__ if c.__module__ == errors.__name__)


def _body(exc: errors.TriadError) -> dict[str, object]:
    body: dict[str, object] = {"detail": str(exc), "error": public_name(exc)}
    if isinstance(exc, errors.AllProvidersFailedError):
        body["attempts"] = [
            {"model": a.model_id, "error": a.error_type, "message": a.message} for a in exc.attempts
        ]
    if isinstance(exc, errors.UnknownModelError):
        body["known_models"] = sorted(exc.known)
    if isinstance(exc, errors.BudgetExceededError):
        body["budget"] = exc.budget
    return body


async def _handle(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.TriadError)
    status = status_for(exc)
    if status >= 500:
        log.warning("request failed: %s: %s", type(exc).__name__, exc)
    headers = {}
    retry_after = (
        exc.retry_after
        if isinstance(
            exc, errors.RateLimitedError | errors.BudgetExceededError | AccountLockedError
        )
        else None
    )
    if retry_after is not None and status == 429:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    return JSONResponse(_body(exc), status_code=status, headers=headers)


# Paths whose callers are programs: they get JSON errors even from a browser.
API_PREFIXES = (
    "/admin/api",
    "/auth",
    "/escalations",
    "/llm",
    "/v1",
    "/chat",
    "/knowledge",
    "/metrics",
    "/health",
    "/models",
)


def _is_page_request(request: Request) -> bool:
    path = request.url.path
    if any(path == p or path.startswith(p + "/") for p in API_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


async def _login_required(request: Request, exc: Exception) -> Response:
    """A console page without a session: 303 to the login page, coming back here after."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    """The wrong role (or a missing CSRF token): an HTML 403 page for pages, JSON for APIs."""
    assert isinstance(exc, errors.ForbiddenError)
    if not _is_page_request(request):
        return await _handle(request, exc)
    from triad_admin.render import render  # the console package renders; imported late

    return render(request, "forbidden.html", {"message": str(exc)}, status_code=403)


async def _not_found(request: Request, exc: Exception) -> Response:
    """A made-up path opened in a browser gets a page with a way back; programs get JSON."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code != 404 or not _is_page_request(request):
        return await http_exception_handler(request, exc)
    from triad_admin.render import render  # the console package renders; imported late

    message = f"There is no page at {request.url.path}."
    return render(
        request, "error.html", {"message": message, "back": "/", "status": 404}, status_code=404
    )


def install(app: FastAPI) -> None:
    """Register the handler for the whole tree (pages get a redirect or an HTML 403 or 404)."""
    app.add_exception_handler(StarletteHTTPException, _not_found)
    app.add_exception_handler(errors.TriadError, _handle)
    app.add_exception_handler(errors.LoginRequiredError, _login_required)
    app.add_exception_handler(errors.ForbiddenError, _forbidden)
