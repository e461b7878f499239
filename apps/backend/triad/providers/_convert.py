"""SDK exceptions become `triad.errors` here, once, so nothing above the adapters knows an SDK.

Every adapter wraps its SDK call in `try/except Exception` and hands the exception to
`convert_exception`; anything it does not recognise (a bug in our code) is re-raised as is.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Mapping
from contextlib import aclosing, contextmanager
from typing import TypeVar

import anthropic
import httpx
import ollama
import openai
import pydantic

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

_MAX_DETAIL = 300
_KEY_PATTERNS = re.compile(
    r"(?i)\b(?:sk|xai|key)-[A-Za-z0-9_\-*.]{6,}|(?:bearer|x-api-key[:=])\s*\S+"
)
_FILTER_MARKERS = frozenset(
    {"content_policy_violation", "content_filter", "responsibleaipolicyviolation"}
)


class UpstreamStatusError(Exception):
    """An HTTP error status caught by an httpx response hook, keeping the headers the SDK drops."""

    def __init__(self, status_code: int, headers: Mapping[str, str], body: str) -> None:
        self.status_code = status_code
        self.headers = dict(headers)
        self.body = body
        super().__init__(f"HTTP {status_code}")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove API keys (known values and key-shaped tokens) so no error message can leak one."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return _KEY_PATTERNS.sub("[redacted]", text)


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `Retry-After` as seconds or an HTTP date."""
    if not headers:
        return None
    lowered = {key.lower(): value for key, value in headers.items()}
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = lowered.get(name)
        if raw is None:
            continue
        try:
            seconds = float(raw.strip()) / divisor
        except ValueError:
            continue
        if math.isfinite(seconds):
            return max(seconds, 0.0)
    raw_date = lowered.get("retry-after")
    if raw_date is None:
        return None
    try:
        parsed = email.utils.parsedate_tz(raw_date)
        if parsed is None:
            return None
        when = email.utils.mktime_tz(parsed)
    except (TypeError, ValueError, OverflowError):
        return None
    return max(float(when) - (time.time() if now is None else now), 0.0)


def _body_markers(body: object) -> set[str]:
    """The lower-cased `code`/`type` strings at the top of an error body and under `error`."""
    markers: set[str] = set()
    layers = [body]
    if isinstance(body, Mapping):
        layers += [body.get("error"), body.get("innererror")]
        error = body.get("error")
        if isinstance(error, Mapping):
            layers.append(error.get("innererror"))
    for layer in layers:
        if isinstance(layer, Mapping):
            for field in ("code", "type"):
                value = layer.get(field)
                if isinstance(value, str):
                    markers.add(value.lower())
    return markers


def _body_message(body: object) -> str:
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
    if isinstance(body, str):
        return body
    return ""


def error_for_status(
    status: int,
    *,
    provider: str,
    model: str,
    headers: Mapping[str, str] | None = None,
    body: object = None,
    detail: str = "",
    secrets: Iterable[str | None] = (),
) -> ProviderError:
    """Map one HTTP error status (and its body and headers) onto the error tree."""
    upstream = redact(detail or _body_message(body), secrets).strip()[:_MAX_DETAIL]
    message = f"{provider} model '{model}' answered HTTP {status}" + (
        f": {upstream}" if upstream else ""
    )
    if status == 429:
        return RateLimitedError(
            message,
            provider=provider,
            model=model,
            status_code=status,
            retry_after=parse_retry_after(headers),
        )
    kind: type[ProviderError] = ProviderUnavailableError
    if status in (401, 403):
        kind = AuthenticationFailedError
    elif status == 408:
        kind = ProviderTimeoutError
    elif 400 <= status < 500:
        filtered = bool(_body_markers(body) & _FILTER_MARKERS)
        kind = ContentFilteredError if filtered else BadRequestError
    return kind(message, provider=provider, model=model, status_code=status)


def malformed(provider: str, model: str, why: str) -> MalformedResponseError:
    """A 2xx answer whose body does not follow the protocol."""
    return MalformedResponseError(
        f"{provider} model '{model}' sent a malformed response: {why}"[: _MAX_DETAIL + 80],
        provider=provider,
        model=model,
    )


def _json_or_text(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


def convert_exception(
    exc: BaseException, *, provider: str, model: str, secrets: Iterable[str | None] = ()
) -> ProviderError | None:
    """The tree's error for an SDK/transport exception, or None when `exc` is not one."""
    if isinstance(exc, ProviderError):
        return exc
    status_error = _status_error(exc, provider=provider, model=model, secrets=secrets)
    if status_error is not None:
        return status_error
    said = f"{provider} model '{model}'"
    kind: type[ProviderError]
    timeouts = (openai.APITimeoutError, anthropic.APITimeoutError, httpx.TimeoutException)
    connection = (openai.APIConnectionError, anthropic.APIConnectionError, httpx.TransportError)
    if isinstance(exc, (*timeouts, TimeoutError)):
        kind, message = ProviderTimeoutError, f"{said} did not answer within the deadline"
    elif isinstance(exc, (openai.APIResponseValidationError, anthropic.APIResponseValidationError)):
        return malformed(provider, model, "the body does not match the expected schema")
    elif isinstance(exc, (json.JSONDecodeError, pydantic.ValidationError, httpx.DecodingError)):
        return malformed(provider, model, f"{type(exc).__name__} while reading the body")
    elif isinstance(exc, (*connection, ConnectionError)):
        kind, message = ProviderUnavailableError, f"{said} is unreachable ({type(exc).__name__})"
    elif isinstance(exc, openai.ContentFilterFinishReasonError):
        kind, message = ContentFilteredError, f"{said} refused the content"
    elif isinstance(exc, (openai.OpenAIError, anthropic.AnthropicError)):
        kind, message = ProviderError, f"{said} failed: {redact(str(exc), secrets)[:_MAX_DETAIL]}"
    else:
        return None
    return kind(message, provider=provider, model=model)


def _status_error(
    exc: BaseException, *, provider: str, model: str, secrets: Iterable[str | None]
) -> ProviderError | None:
    """Errors that carry an HTTP status: the SDKs' status errors, httpx's and our hook's."""
    status: int
    headers: Mapping[str, str] | None = None
    detail = ""
    if isinstance(exc, (openai.APIStatusError, anthropic.APIStatusError)):
        status, headers = exc.status_code, dict(exc.response.headers.items())
        body = exc.body if exc.body is not None else _json_or_text(exc.response.text)
        detail = _body_message(body) or str(exc.message)
    elif isinstance(exc, httpx.HTTPStatusError):
        status, headers = exc.response.status_code, dict(exc.response.headers.items())
        body = _json_or_text(exc.response.text)
    elif isinstance(exc, UpstreamStatusError):
        status, headers, body = exc.status_code, exc.headers, _json_or_text(exc.body)
    elif isinstance(exc, ollama.ResponseError):
        status = exc.status_code if exc.status_code > 0 else 502
        body = {"error": exc.error}
    else:
        return None
    return error_for_status(
        status,
        provider=provider,
        model=model,
        headers=headers,
        body=body,
        detail=detail,
        secrets=secrets,
    )


T = TypeVar("T")
Converter = Callable[[Exception], ProviderError | None]


@contextmanager
def converted_errors(convert: Converter) -> Iterator[None]:
    """The adapter boundary: SDK and transport errors leave as the error tree, our own bugs
    (for which `convert` returns None) leave unchanged."""
    try:
        yield
    except Exception as exc:
        converted = convert(exc)
        if converted is None:
            raise
        raise converted from exc


async def converted_stream(
    chunks: AsyncGenerator[T, None], convert: Converter
) -> AsyncGenerator[T, None]:
    """Re-yield a stream, converting errors raised while it runs; closes it when abandoned."""
    with converted_errors(convert):
        async with aclosing(chunks) as items:
            async for item in items:
                yield item
