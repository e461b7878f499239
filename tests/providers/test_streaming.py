"""Streaming adapters: real tokens from llama.cpp over both protocols, and the same typed errors
as `complete()` when the stream fails before or after its first chunk (loopback chaos server).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import anthropic
import openai
import pytest

from tests.providers.helpers import ask
from tests.support.loopback import LoopbackServer, Reply
from tests.support.scripted import ScriptedProvider
from triad.errors import (
    MalformedResponseError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)
from triad.providers import AnthropicProvider, OpenAIProvider, Provider
from triad.providers.base import CompletionRequest, StreamChunk
from triad.providers.local import LocalLlamaServer

SECRET = "sk-test-SECRET0123456789"


async def collect(provider: Provider, request: CompletionRequest) -> list[StreamChunk]:
    return [chunk async for chunk in provider.stream(request)]


def openai_on(url: str) -> OpenAIProvider:
    client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=SECRET)
    return OpenAIProvider(client, model="smollm2-135m")


def anthropic_on(url: str) -> AnthropicProvider:
    client = anthropic.AsyncAnthropic(base_url=url, api_key=SECRET)
    return AnthropicProvider(client, model="smollm2-135m")


@dataclass(frozen=True)
class Protocol:
    name: str
    path: str
    build: Callable[[str], Provider]
    sse: Callable[[list[str], bool], bytes]
    """The SSE body of a stream saying these texts, then either finishing or failing."""


def openai_sse(texts: list[str], fail: bool) -> bytes:
    def event(delta: dict[str, str], finish: str | None = None) -> str:
        chunk = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "smollm2-135m",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(chunk)}\n\n"

    body = event({"role": "assistant"}) + "".join(event({"content": t}) for t in texts)
    if fail:
        body += 'data: {"error": {"message": "upstream overloaded", "type": "server_error"}}\n\n'
    return (body + "data: [DONE]\n\n").encode()


def anthropic_sse(texts: list[str], fail: bool) -> bytes:
    def event(kind: str, data: dict[str, object]) -> str:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"

    message: dict[str, object] = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "smollm2-135m",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 1},
    }
    body = event("message_start", {"message": message})
    body += event(
        "content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}
    )
    for text in texts:
        body += event(
            "content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": text}}
        )
    if fail:
        body += event("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}})
    return body.encode()


PROTOCOLS = [
    Protocol("openai", "/v1/chat/completions", openai_on, openai_sse),
    Protocol("anthropic", "/v1/messages", anthropic_on, anthropic_sse),
]
IDS = [p.name for p in PROTOCOLS]


def sse(body: bytes) -> Reply:
    return Reply(200, body, {"Content-Type": "text/event-stream"})


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=IDS)
async def test_streams_real_tokens_from_llama_cpp(
    protocol: Protocol, llama_server: LocalLlamaServer
) -> None:
    assert llama_server.base_url is not None
    provider = protocol.build(llama_server.base_url)
    assert provider.can_stream
    try:
        chunks = await collect(provider, ask("Write a long poem about the sea.", max_tokens=12))
    finally:
        await provider.aclose()
    *texts, last = chunks
    assert len(texts) > 1, "a real stream arrives in several pieces"
    assert all(c.text and c.finish_reason is None for c in texts)
    assert "".join(c.text for c in texts).strip()
    assert (last.text, last.finish_reason, last.output_tokens) == ("", "length", 12)


async def test_streamed_text_is_the_completed_text(llama_server: LocalLlamaServer) -> None:
    assert llama_server.base_url is not None
    provider = openai_on(llama_server.base_url)
    request = ask("What is the capital of France?", temperature=0.0, max_tokens=10)
    try:
        chunks = await collect(provider, request)
        done = await provider.complete(request)
    finally:
        await provider.aclose()
    assert "".join(c.text for c in chunks) == done.text
    assert chunks[-1].input_tokens == done.input_tokens
    assert chunks[-1].output_tokens == done.output_tokens


async def test_a_provider_that_cannot_stream_yields_its_completion_as_one_chunk() -> None:
    provider = ScriptedProvider("A $100 deposit secures your date.")
    assert not provider.can_stream
    chunks = await collect(provider, ask("Deposit?"))
    assert [c.text for c in chunks] == ["A $100 deposit secures your date.", ""]
    assert chunks[-1].finish_reason == "stop"
    assert (chunks[-1].input_tokens, chunks[-1].output_tokens) == (1, 6)


async def test_a_default_stream_raises_what_complete_raises() -> None:
    provider = ScriptedProvider(RateLimitedError("slow down", retry_after=3))
    with pytest.raises(RateLimitedError):
        await collect(provider, ask("Deposit?"))


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=IDS)
async def test_429_before_the_stream_is_rate_limited(
    protocol: Protocol, loopback: LoopbackServer
) -> None:
    loopback.always(Reply.rate_limited("7"))
    provider = protocol.build(loopback.url)
    try:
        with pytest.raises(RateLimitedError) as caught:
            await collect(provider, ask("hello?"))
    finally:
        await provider.aclose()
    assert caught.value.retry_after == 7.0
    assert caught.value.provider == protocol.name and caught.value.model == "smollm2-135m"
    assert len(loopback.requests_to(protocol.path)) == 1, "SDK retries must be off"
    assert loopback.requests[0].json()["stream"] is True


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=IDS)
async def test_503_before_the_stream_is_unavailable(
    protocol: Protocol, loopback: LoopbackServer
) -> None:
    loopback.always(Reply.error(503, "backend exploded"))
    provider = protocol.build(loopback.url)
    try:
        with pytest.raises(ProviderUnavailableError, match="backend exploded"):
            await collect(provider, ask("hello?"))
    finally:
        await provider.aclose()
    assert len(loopback.requests) == 1


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=IDS)
async def test_a_hang_before_the_stream_times_out(
    protocol: Protocol, loopback: LoopbackServer
) -> None:
    loopback.always(Reply.hang(10.0))
    provider = protocol.build(loopback.url)
    try:
        with pytest.raises(ProviderTimeoutError):
            await collect(provider, ask("hello?", timeout_s=0.5))
    finally:
        await provider.aclose()


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=IDS)
async def test_an_error_event_after_the_first_chunk_is_a_typed_error(
    protocol: Protocol, loopback: LoopbackServer
) -> None:
    loopback.always(sse(protocol.sse(["We ", "do"], True)))
    provider = protocol.build(loopback.url)
    seen: list[str] = []
    try:
        with pytest.raises(ProviderError) as caught:
            async for chunk in provider.stream(ask("hello?")):
                seen.append(chunk.text)
    finally:
        await provider.aclose()
    assert seen == ["We ", "do"]
    assert caught.value.provider == protocol.name
    assert "verloaded" in str(caught.value)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=IDS)
async def test_a_stream_cut_before_its_finish_is_malformed(
    protocol: Protocol, loopback: LoopbackServer
) -> None:
    body = protocol.sse(["We ", "do"], False)
    if protocol.name == "openai":
        body = body.replace(b"data: [DONE]\n\n", b"")
    loopback.always(sse(body))
    provider = protocol.build(loopback.url)
    try:
        with pytest.raises(MalformedResponseError, match="ended without"):
            await collect(provider, ask("hello?"))
    finally:
        await provider.aclose()


async def test_a_finished_scripted_sse_stream_reports_usage(loopback: LoopbackServer) -> None:
    body = anthropic_sse(["Yes", "."], False)
    body += b'event: message_delta\ndata: {"type": "message_delta", "delta": {"stop_reason": '
    body += b'"end_turn", "stop_sequence": null}, "usage": {"output_tokens": 2}}\n\n'
    body += b'event: message_stop\ndata: {"type": "message_stop"}\n\n'
    loopback.always(sse(body))
    provider = anthropic_on(loopback.url)
    try:
        chunks = await collect(provider, ask("hello?", system="Be brief."))
    finally:
        await provider.aclose()
    assert [c.text for c in chunks] == ["Yes", ".", ""]
    last = chunks[-1]
    assert (last.finish_reason, last.input_tokens, last.output_tokens) == ("stop", 12, 2)
    sent = loopback.requests[0].json()
    assert sent["stream"] is True and sent["system"] == "Be brief."
