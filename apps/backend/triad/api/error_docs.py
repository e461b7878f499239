"""The OpenAPI document tells the truth about errors: every status a route can answer with is
declared, with the body it really has (`ErrorOut`, or OpenAI's envelope under `/v1`).

Most statuses follow from what a route is made of, so a new route is documented without
anyone remembering to: every request passes the input guard (422, and 413 with a body), a
credential check means 401 and 403, a path parameter names something that may not exist
(404). What a route's own logic can refuse (409, 429, 502/503/504) is listed in `EXTRA` below;
the schemathesis test in tests/api fails on any status that is not declared.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

from triad.api.errors import ErrorOut
from triad.api.openai_shapes import OpenAIErrorOut

MODEL_CALL = frozenset({429, 502, 503, 504})
"""A route that calls a model: a budget or provider rate limit, a provider failure, a timeout,
or every model of the chain failing."""

EXTRA: dict[tuple[str, str], frozenset[int]] = {
    ("POST", "/auth/login"): frozenset({401, 429}),
    ("POST", "/chat/sessions"): frozenset({429}),
    ("POST", "/chat/sessions/{session_id}/messages"): MODEL_CALL,
    ("POST", "/llm/complete"): MODEL_CALL | {401, 403},
    ("POST", "/v1/chat/completions"): MODEL_CALL | {401, 403, 404},
    ("GET", "/v1/models"): frozenset({401, 403}),
    ("POST", "/escalations/{escalation_id}/claim"): frozenset({409}),
    ("POST", "/escalations/{escalation_id}/reply"): frozenset({409}),
    ("GET", "/admin/api/lessons/{lesson_id}/effect"): frozenset({409}),
    ("POST", "/admin/api/lessons/{lesson_id}/approve"): frozenset({409}),
    ("POST", "/admin/api/lessons/{lesson_id}/reject"): frozenset({409}),
    ("PATCH", "/admin/api/lessons/{lesson_id}"): frozenset({409}),
    ("POST", "/admin/api/dialogue/runs"): frozenset({503}),
    ("POST", "/admin/api/experiments/{ref}/start"): frozenset({409}),
    ("POST", "/admin/api/experiments/{ref}/pause"): frozenset({409}),
    ("POST", "/admin/api/experiments/{ref}/stop"): frozenset({409}),
    ("DELETE", "/admin/api/keys/{key_id}"): frozenset({409}),
}

OPENAI_PREFIX = "/v1/"


def _checks_credentials(operation: dict[str, Any]) -> bool:
    """Whether the operation reads credentials: an Authorization header or a security scheme."""
    return bool(operation.get("security")) or any(
        p.get("in") == "header" and str(p.get("name", "")).lower() == "authorization"
        for p in operation.get("parameters", [])
    )


def statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """Every error status the operation can answer with."""
    out = {422}
    if "requestBody" in operation:
        out.add(413)
    if _checks_credentials(operation):
        out |= {401, 403}
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        out.add(404)
    out |= EXTRA.get((method.upper(), path), frozenset())
    if path.startswith(OPENAI_PREFIX):
        out = {400 if s == 422 else s for s in out}
    return out


def _schemas() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for model in (ErrorOut, OpenAIErrorOut):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        found.update(schema.pop("$defs", {}))
        found[model.__name__] = schema
    return found


RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before trying again, when known",
        "schema": {"type": "string"},
    }
}


def _response(status: int, schema: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": HTTPStatus(status).phrase,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }
    if status == 429:
        response["headers"] = RETRY_AFTER
    return response


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare the error responses of every operation in an OpenAPI document (in place)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    components.update(_schemas())
    for path, operations in schema.get("paths", {}).items():
        model = "OpenAIErrorOut" if path.startswith(OPENAI_PREFIX) else "ErrorOut"
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status in sorted(statuses(path, method, operation)):
                responses.setdefault(str(status), _response(status, model))
    return schema


def install(app: FastAPI) -> None:
    """Make `app.openapi()` (and /openapi.json, /docs) carry the declared errors."""
    generate: Callable[[], dict[str, Any]] = app.openapi
    documented: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if not documented:
            documented.append(document(generate()))
            app.openapi_schema = documented[0]
        return documented[0]

    app.openapi = openapi  # type: ignore[method-assign]
