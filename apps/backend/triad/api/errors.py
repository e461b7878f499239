"""Translate the error tree into HTTP once, so routes just raise.

Callers get a 4xx naming what is wrong, or a 5xx that says which upstream failed; never a bare
500 with a stack trace.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from triad import errors

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
        if isinstance(exc, errors.RateLimitedError | errors.BudgetExceededError)
        else None
    )
    if retry_after is not None and status == 429:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    return JSONResponse(_body(exc), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handler for the whole tree."""
    app.add_exception_handler(errors.TriadError, _handle)
