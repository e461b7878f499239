"""Translate the error tree into HTTP once, so routes just raise.

Callers get a 4xx naming what is wrong, or a 5xx that says which upstream failed; never a bare
500 with a stack trace. Every error body has one shape, `ErrorOut` (`/v1` uses OpenAI's
envelope instead), and it never repeats input it could not encode.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from triad import errors
from triad.api.openai_shapes import error_body, error_type_for
from triad.auth.lockout import AccountLockedError

log = logging.getLogger(__name__)

ErrorShape = Literal["triad", "openai"]


class ValidationIssue(BaseModel):
    """One problem of a 422: where it is (`["body", "content"]`) and what is wrong."""

    loc: list[str | int]
    msg: str
    type: str


class FailedAttempt(BaseModel):
    model: str
    error: str
    message: str


class ErrorOut(BaseModel):
    """The body of every error status this API answers with (but `/v1`'s, see there)."""

    model_config = ConfigDict(extra="allow")

    detail: str = Field(description="what is wrong, in a sentence")
    error: str = Field(
        description="the error's name: a class of triad.errors (InputError, NotFoundError, "
        "...), ValidationError for a request the schema refuses, or the HTTP status's name"
    )
    errors: list[ValidationIssue] | None = Field(
        default=None, description="422 only: each problem and where it is"
    )
    attempts: list[FailedAttempt] | None = Field(
        default=None, description="503 only: every model tried and how it failed"
    )
    known_models: list[str] | None = None
    budget: str | None = Field(default=None, description="the budget or cap that refused")


class SafeJSONResponse(JSONResponse):
    """JSON that always encodes: a lone surrogate in a message becomes '?', not a 500."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8", "replace")


def printable(text: str) -> str:
    """The text with anything UTF-8 cannot encode replaced, for echoing it in an error."""
    return text.encode("utf-8", "replace").decode("utf-8")


_NAMES = {413: "RequestTooLarge", 422: "InputError"}


def error_response(
    status: int,
    where: str,
    problem: str,
    *,
    shape: ErrorShape = "triad",
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A refusal of one request part (`where`, dotted), in the app's or OpenAI's shape.

    OpenAI says 400 where Triad says 422, so the SDK raises its `BadRequestError`.
    """
    message = f"{where}: {problem}" if where else problem
    name = _NAMES.get(status) or HTTPStatus(status).phrase.replace(" ", "")
    if shape == "openai":
        status = 400 if status == 422 else status
        body = error_body(message, type_=error_type_for(status), param=where or None, code=name)
        return SafeJSONResponse(body, status_code=status, headers={"x-should-retry": "false"})
    issue = {"loc": where.split(".") if where else [], "msg": problem, "type": "value_error"}
    content: dict[str, Any] = {"detail": message, "error": name}
    if status == 422:
        content["errors"] = [issue]
    return SafeJSONResponse(content, status_code=status, headers=headers)


def validation_body(exc: RequestValidationError) -> dict[str, Any]:
    """FastAPI's validation errors without the `input` they carry (it may not encode)."""
    issues = [
        ValidationIssue(
            loc=[p if isinstance(p, int) else printable(str(p)) for p in e.get("loc", ())],
            msg=printable(str(e.get("msg", ""))),
            type=str(e.get("type", "value_error")),
        )
        for e in exc.errors()
    ]
    parts = [f"{'.'.join(str(p) for p in i.loc)}: {i.msg}" if i.loc else i.msg for i in issues]
    return {
        "detail": "; ".join(parts) or "invalid request",
        "error": "ValidationError",
        "errors": [i.model_dump() for i in issues],
    }


async def _invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return SafeJSONResponse(validation_body(exc), status_code=422)


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
        case AccountLockedError() | errors.TooManyRequestsError():
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
    body: dict[str, object] = {"detail": printable(str(exc)), "error": public_name(exc)}
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
            exc,
            errors.RateLimitedError
            | errors.BudgetExceededError
            | AccountLockedError
            | errors.TooManyRequestsError,
        )
        else None
    )
    if retry_after is not None and status == 429:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    return SafeJSONResponse(_body(exc), status_code=status, headers=headers)


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
        return _http_error(exc)
    from triad_admin.render import render  # the console package renders; imported late

    message = f"There is no page at {request.url.path}."
    return render(
        request, "error.html", {"message": message, "back": "/", "status": 404}, status_code=404
    )


def _http_error(exc: StarletteHTTPException) -> Response:
    """Starlette's own errors (a path or method no route has) in the app's error shape."""
    headers = dict(exc.headers or {})
    if exc.status_code in (204, 304) or exc.status_code < 400:
        return Response(status_code=exc.status_code, headers=headers)
    name = HTTPStatus(exc.status_code).phrase.replace(" ", "")
    detail = exc.detail if isinstance(exc.detail, str) else name
    content = {"detail": printable(detail), "error": name}
    return SafeJSONResponse(content, status_code=exc.status_code, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handler for the whole tree (pages get a redirect or an HTML 403 or 404)."""
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _not_found)
    app.add_exception_handler(errors.TriadError, _handle)
    app.add_exception_handler(errors.LoginRequiredError, _login_required)
    app.add_exception_handler(errors.ForbiddenError, _forbidden)
