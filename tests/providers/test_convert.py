"""The one place HTTP statuses, headers and SDK exceptions become Triad errors."""

from __future__ import annotations

import json
from email.utils import formatdate

import httpx
import pytest

from triad.errors import (
    AuthenticationFailedError,
    BadRequestError,
    ContentFilteredError,
    MalformedResponseError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)
from triad.providers._convert import (
    convert_exception,
    error_for_status,
    parse_retry_after,
    redact,
)

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "12"}, 12.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"Retry-After-Ms": "2500"}, 2.5),
        ({"retry-after-ms": "500", "retry-after": "9"}, 0.5),
        ({"Retry-After": formatdate(NOW + 30, usegmt=True)}, 30.0),
        ({"Retry-After": formatdate(NOW - 30, usegmt=True)}, 0.0),
        ({"Retry-After": "-5"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str] | None, expected: float | None) -> None:
    assert parse_retry_after(headers, now=NOW) == expected


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, BadRequestError),
        (401, AuthenticationFailedError),
        (403, AuthenticationFailedError),
        (404, BadRequestError),
        (408, ProviderTimeoutError),
        (422, BadRequestError),
        (429, RateLimitedError),
        (500, ProviderUnavailableError),
        (502, ProviderUnavailableError),
        (503, ProviderUnavailableError),
        (529, ProviderUnavailableError),
    ],
)
def test_status_mapping(status: int, kind: type[ProviderError]) -> None:
    error = error_for_status(status, provider="p", model="m", body={"error": {"message": "x"}})
    assert type(error) is kind
    assert (error.provider, error.model, error.status_code) == ("p", "m", status)


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"code": "content_policy_violation", "message": "no"}},
        {
            "error": {
                "code": "content_filter",
                "innererror": {"code": "ResponsibleAIPolicyViolation"},
            }
        },
        {"code": "content_filter"},
    ],
)
def test_policy_refusals_are_content_filtered(body: object) -> None:
    error = error_for_status(400, provider="p", model="m", body=body)
    assert isinstance(error, ContentFilteredError)


def test_redact_removes_known_and_key_shaped_secrets() -> None:
    text = "bad key sk-proj-abcdef123456 and xai-ZZZZZZZZZZ, mine is hunter2-long-secret"
    cleaned = redact(text, ["hunter2-long-secret"])
    assert "abcdef123456" not in cleaned
    assert "ZZZZZZZZZZ" not in cleaned
    assert "hunter2" not in cleaned
    assert cleaned.startswith("bad key [redacted]")


def test_transport_exceptions() -> None:
    request = httpx.Request("POST", "http://127.0.0.1:9/api/chat")
    timeout = convert_exception(httpx.ReadTimeout("slow", request=request), provider="o", model="m")
    refused = convert_exception(
        httpx.ConnectError("refused", request=request), provider="o", model="m"
    )
    assert isinstance(timeout, ProviderTimeoutError)
    assert isinstance(refused, ProviderUnavailableError)
    assert isinstance(
        convert_exception(TimeoutError(), provider="o", model="m"), ProviderTimeoutError
    )


def test_http_status_error_keeps_retry_after() -> None:
    request = httpx.Request("POST", "http://127.0.0.1:9/v1/x")
    response = httpx.Response(
        429, headers={"Retry-After": "3"}, json={"error": "busy"}, request=request
    )
    error = convert_exception(
        httpx.HTTPStatusError("429", request=request, response=response), provider="o", model="m"
    )
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 3.0


def test_json_decode_error_is_malformed_and_bugs_are_not_converted() -> None:
    try:
        json.loads("{nope")
    except json.JSONDecodeError as exc:
        assert isinstance(convert_exception(exc, provider="o", model="m"), MalformedResponseError)
    assert convert_exception(KeyError("ours"), provider="o", model="m") is None
