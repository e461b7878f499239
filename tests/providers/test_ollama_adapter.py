"""The Ollama adapter against a loopback server speaking Ollama's `/api/chat`."""

from __future__ import annotations

import ollama
import pytest

from tests.providers.helpers import CHAT_RESPONSE, ask
from tests.support.loopback import LoopbackServer, Reply
from triad.errors import RateLimitedError
from triad.providers import OllamaProvider
from triad.providers.ollama_provider import ollama_client


async def test_chat_round_trip(loopback: LoopbackServer) -> None:
    loopback.enqueue(Reply.json(CHAT_RESPONSE))
    provider = OllamaProvider(
        ollama_client(loopback.url), model="llama3.1", options={"num_ctx": 4096}
    )
    try:
        done = await provider.complete(
            ask("What is the deposit?", system="Answer briefly.", max_tokens=32, stop=["\n\n"])
        )
    finally:
        await provider.aclose()

    assert done.text == "A $100 deposit secures your date."
    assert (done.provider, done.model) == ("ollama", "llama3.1")
    assert (done.input_tokens, done.output_tokens) == (26, 9)
    assert done.finish_reason == "stop"
    assert done.latency_ms > 0

    (sent,) = loopback.requests_to("/api/chat")
    body = sent.json()
    assert body["model"] == "llama3.1"
    assert body["stream"] is False
    assert body["messages"] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "What is the deposit?"},
    ]
    assert body["options"] == {
        "num_ctx": 4096,
        "temperature": 0.2,
        "num_predict": 32,
        "stop": ["\n\n"],
    }


async def test_length_and_missing_counts(loopback: LoopbackServer) -> None:
    cut = {**CHAT_RESPONSE, "done_reason": "length"}
    del cut["prompt_eval_count"], cut["eval_count"]
    loopback.enqueue(Reply.json(cut))
    provider = OllamaProvider(ollama_client(loopback.url), model="llama3.1")
    try:
        done = await provider.complete(ask("Tell me everything."))
    finally:
        await provider.aclose()
    assert done.finish_reason == "length"
    assert (done.input_tokens, done.output_tokens) == (None, None)


async def test_plain_client_still_maps_429_without_the_hint(loopback: LoopbackServer) -> None:
    """A client not built by `ollama_client` loses headers in the SDK, but not the error type."""
    loopback.always(Reply.rate_limited("7"))
    provider = OllamaProvider(ollama.AsyncClient(host=loopback.url), model="llama3.1")
    try:
        with pytest.raises(RateLimitedError) as caught:
            await provider.complete(ask("hi"))
    finally:
        await provider.aclose()
    assert caught.value.retry_after is None
    assert caught.value.status_code == 429
    assert "slow down" in str(caught.value)
