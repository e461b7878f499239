"""The OpenAPI document declares every error status of every operation with its real body."""

from __future__ import annotations

from typing import Any

import pytest

from triad.api import create_app
from triad.settings import Settings


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    schema: dict[str, Any] = create_app(Settings()).openapi()
    return schema


def responses(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = document["paths"][path][method]["responses"]
    return found


def ref(response: dict[str, Any]) -> str:
    target: str = response["content"]["application/json"]["schema"]["$ref"]
    return target.rsplit("/", 1)[-1]


def test_every_operation_declares_its_refusals_in_the_apps_error_shape(
    document: dict[str, Any],
) -> None:
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            codes = operation["responses"]
            bad_input = "400" if path.startswith("/v1/") else "422"
            assert bad_input in codes, (method, path)
            shape = "OpenAIErrorOut" if path.startswith("/v1/") else "ErrorOut"
            errors = [c for c in codes if int(c) >= 400]
            assert all(ref(codes[c]) == shape for c in errors), (method, path)
            if "requestBody" in operation:
                assert "413" in codes, (method, path)


def test_statuses_follow_what_a_route_does(document: dict[str, Any]) -> None:
    claim = responses(document, "post", "/escalations/{escalation_id}/claim")
    assert {"401", "403", "404", "409", "422"} <= set(claim)
    login = responses(document, "post", "/auth/login")
    assert {"401", "413", "422", "429"} <= set(login)
    assert "Retry-After" in login["429"]["headers"]
    turn = responses(document, "post", "/chat/sessions/{session_id}/messages")
    assert {"404", "413", "422", "429", "502", "503", "504"} <= set(turn)
    assert "401" not in turn  # the session token is checked as a 404, never a 401
    assert set(responses(document, "get", "/health")) == {"200", "422"}


def test_the_declared_422_is_the_body_the_app_sends(document: dict[str, Any]) -> None:
    schema = document["components"]["schemas"]["ErrorOut"]
    assert set(schema["required"]) == {"detail", "error"}
    issue = document["components"]["schemas"]["ValidationIssue"]
    assert set(issue["properties"]) == {"loc", "msg", "type"}  # no echoed `input`
