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


def _status(exc: errors.TriadError) -> int:
    match exc:
        case errors.InputError() | errors.UnknownModelError():
            return 422
        case errors.ContentFilteredError():
            return 422
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


def _body(exc: errors.TriadError) -> dict[str, object]:
    body: dict[str, object] = {"detail": str(exc), "error": type(exc).__name__}
    if isinstance(exc, errors.AllProvidersFailedError):
        body["attempts"] = [
            {"model": a.model_id, "error": a.error_type, "message": a.message} for a in exc.attempts
        ]
    if isinstance(exc, errors.UnknownModelError):
        body["known_models"] = sorted(exc.known)
    return body


async def _handle(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.TriadError)
    status = _status(exc)
    if status >= 500:
        log.warning("request failed: %s: %s", type(exc).__name__, exc)
    headers = {}
    if isinstance(exc, errors.RateLimitedError) and exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return JSONResponse(_body(exc), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handler for the whole tree."""
    app.add_exception_handler(errors.TriadError, _handle)
