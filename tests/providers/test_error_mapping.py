"""Every adapter turns every kind of upstream failure into the same typed error, in one call.

The SDK clients below are built with their default retries ON: the adapters must switch them
off, which the "exactly one upstream request" assertion proves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import anthropic
import openai
import pytest

from tests.providers.helpers import ask
from tests.support.loopback import LoopbackServer, Reply
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
from triad.providers import AnthropicProvider, OllamaProvider, OpenAIProvider, Provider
from triad.providers.ollama_provider import ollama_client

SECRET = "sk-test-SECRET0123456789"


@dataclass(frozen=True)
class Adapter:
    name: str
    model: str
    path: str
    build: Callable[[str], Provider]


ADAPTERS = [
    Adapter(
        "openai",
        "gpt-test",
        "/v1/chat/completions",
        lambda url: OpenAIProvider(
            openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=SECRET), model="gpt-test"
        ),
    ),
    Adapter(
        "anthropic",
        "claude-test",
        "/v1/messages",
        lambda url: AnthropicProvider(
            anthropic.AsyncAnthropic(base_url=url, api_key=SECRET), model="claude-test"
        ),
    ),
    Adapter(
        "ollama",
        "llama-test",
        "/api/chat",
        lambda url: OllamaProvider(ollama_client(url), model="llama-test"),
    ),
]
IDS = [a.name for a in ADAPTERS]


async def fail_once(
    adapter: Adapter, loopback: LoopbackServer, reply: Reply, *, timeout_s: float = 5.0
) -> ProviderError:
    """Script `reply` (also as the default, so any retry would be seen), call, return the error."""
    loopback.always(reply)
    provider = adapter.build(loopback.url)
    try:
        with pytest.raises(ProviderError) as caught:
            await provider.complete(ask("hello?", timeout_s=timeout_s))
    finally:
        await provider.aclose()
    assert len(loopback.requests_to(adapter.path)) == 1, "SDK retries must be off"
    assert len(loopback.requests) == 1
    error = caught.value
    assert error.provider == adapter.name
    assert error.model == adapter.model
    assert SECRET not in str(error)
    return error


@pytest.mark.parametrize("adapter", ADAPTERS, ids=IDS)
async def test_429_carries_retry_after_seconds(adapter: Adapter, loopback: LoopbackServer) -> None:
    error = await fail_once(adapter, loopback, Reply.rate_limited("7"))
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 7.0
    assert error.status_code == 429
    assert error.retryable


@pytest.mark.parametrize("adapter", ADAPTERS, ids=IDS)
async def test_429_retry_after_ms_and_http_date(adapter: Adapter, loopback: LoopbackServer) -> None:
    error = await fail_once(adapter, loopback, Reply.rate_limited("1500", header="retry-after-ms"))
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 1.5

    loopback.requests.clear()
    dated = await fail_once(adapter, loopback, Reply.rate_limited_until(time.time() + 120))
    assert isinstance(dated, RateLimitedError)
    assert dated.retry_after is not None
    assert 110 <= dated.retry_after <= 121


@pytest.mark.parametrize("status", [500, 503])
@pytest.mark.parametrize("adapter", ADAPTERS, ids=IDS)
async def test_5xx_is_unavailable(adapter: Adapter, loopback: LoopbackServer, status: int) -> None:
    error = await fail_once(adapter, loopback, Reply.error(status, "backend exploded"))
    assert type(error) is ProviderUnavailableError
    assert error.status_code == status
    assert "backend exploded" in str(error)


@pytest.mark.parametrize("adapter", ADAPTERS, ids=IDS)
async def test_hang_past_the_deadline_times_out(adapter: Adapter, loopback: LoopbackServer) -> None:
    started = time.perf_counter()
    error = await fail_once(adapter, loopback, Reply.hang(10.0), timeout_s=0.5)
    assert isinstance(error, ProviderTimeoutError)
    assert time.perf_counter() - started < 3.0


@pytest.mark.parametrize("adapter", ADAPTERS, ids=IDS)
async def test_401_is_auth_failure_without_leaking_the_key(
    adapter: Adapter, loopback: LoopbackServer
) -> None:
    echo = f"Incorrect API key provided: {SECRET}"
    error = await fail_once(adapter, loopback, Reply.error(401, echo, "authentication_error"))
    assert isinstance(error, AuthenticationFailedError)
    assert not error.retryable
    assert "SECRET0123456789" not in str(error)


@pytest.mark.parametrize(
    "reply",
    [Reply.not_json(), Reply.not_json("text/html"), Reply.wrong_shape()],
    ids=["truncated-json", "html-page", "wrong-shape"],
)
@pytest.mark.parametrize("adapter", ADAPTERS, ids=IDS)
async def test_unreadable_200_is_malformed(
    adapter: Adapter, loopback: LoopbackServer, reply: Reply
) -> None:
    error = await fail_once(adapter, loopback, reply)
    assert isinstance(error, MalformedResponseError)


@pytest.mark.parametrize("adapter", ADAPTERS, ids=IDS)
async def test_400_is_bad_request_and_policy_refusal_is_content_filtered(
    adapter: Adapter, loopback: LoopbackServer
) -> None:
    error = await fail_once(adapter, loopback, Reply.error(400, "max_tokens too large"))
    assert type(error) is BadRequestError

    loopback.requests.clear()
    refusal = Reply.error(400, "flagged by the safety system", "content_policy_violation")
    filtered = await fail_once(adapter, loopback, refusal)
    assert isinstance(filtered, ContentFilteredError)


@pytest.mark.parametrize("adapter", ADAPTERS, ids=IDS)
async def test_connection_refused_is_unavailable(adapter: Adapter) -> None:
    with LoopbackServer() as gone:
        url = gone.url
    provider = adapter.build(url)
    try:
        with pytest.raises(ProviderUnavailableError) as caught:
            await provider.complete(ask("anyone there?", timeout_s=5))
    finally:
        await provider.aclose()
    assert caught.value.provider == adapter.name
