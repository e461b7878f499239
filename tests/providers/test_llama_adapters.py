"""The real OpenAI and Anthropic adapters against a real model: SmolLM2 on embedded llama.cpp.

llama.cpp speaks both `/v1/chat/completions` and `/v1/messages`, so both official SDKs are
exercised end to end without a key or the network.
"""

from __future__ import annotations

import anthropic
import openai

from tests.providers.helpers import ask
from triad.providers import AnthropicProvider, ChatMessage, CompletionRequest, OpenAIProvider
from triad.providers.anthropic_provider import split_messages
from triad.providers.local import LocalLlamaServer

QUESTION = "What is the capital of France? Answer in one word."


def openai_adapter(server: LocalLlamaServer) -> OpenAIProvider:
    client = openai.AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key="sk-local", max_retries=0)
    return OpenAIProvider(client, model="smollm2-135m")


def anthropic_adapter(server: LocalLlamaServer) -> AnthropicProvider:
    client = anthropic.AsyncAnthropic(base_url=server.base_url, api_key="local", max_retries=0)
    return AnthropicProvider(client, model="smollm2-135m")


async def test_openai_adapter_answers_from_the_real_model(llama_server: LocalLlamaServer) -> None:
    provider = openai_adapter(llama_server)
    try:
        done = await provider.complete(ask(QUESTION, system="You are terse.", temperature=0.0))
    finally:
        await provider.aclose()
    assert done.text.strip()
    assert (done.provider, done.model) == ("openai", "smollm2-135m")
    assert done.input_tokens is not None and done.input_tokens > 5
    assert done.output_tokens is not None and 0 < done.output_tokens <= 16
    assert done.latency_ms > 0
    assert done.finish_reason in ("stop", "length")


async def test_openai_adapter_reports_length_when_cut(llama_server: LocalLlamaServer) -> None:
    provider = openai_adapter(llama_server)
    try:
        done = await provider.complete(ask("Write a long poem about the sea.", max_tokens=2))
    finally:
        await provider.aclose()
    assert done.finish_reason == "length"
    assert done.output_tokens == 2


async def test_anthropic_adapter_answers_from_the_real_model(
    llama_server: LocalLlamaServer,
) -> None:
    provider = anthropic_adapter(llama_server)
    request = CompletionRequest(
        messages=[
            ChatMessage(role="system", content="You are terse."),
            ChatMessage(role="user", content="Hello."),
            ChatMessage(role="user", content=QUESTION),
        ],
        max_tokens=16,
        temperature=0.0,
    )
    try:
        done = await provider.complete(request)
    finally:
        await provider.aclose()
    assert done.text.strip()
    assert (done.provider, done.model) == ("anthropic", "smollm2-135m")
    assert done.output_tokens is not None and 0 < done.output_tokens <= 16
    assert done.input_tokens is not None and done.input_tokens > 0
    assert done.latency_ms > 0
    assert done.finish_reason in ("stop", "length")


async def test_anthropic_adapter_maps_max_tokens_to_length(llama_server: LocalLlamaServer) -> None:
    provider = anthropic_adapter(llama_server)
    try:
        done = await provider.complete(ask("Write a long poem about the sea.", max_tokens=2))
    finally:
        await provider.aclose()
    assert done.finish_reason == "length"


def test_system_goes_apart_and_same_role_turns_merge() -> None:
    system, turns = split_messages(
        [
            ChatMessage(role="system", content="Be kind."),
            ChatMessage(role="user", content="Hi."),
            ChatMessage(role="user", content="Deposit?"),
            ChatMessage(role="assistant", content="$100."),
            ChatMessage(role="system", content="Be brief."),
            ChatMessage(role="user", content="Thanks."),
        ]
    )
    assert system == "Be kind.\n\nBe brief."
    assert turns == [
        {"role": "user", "content": "Hi.\n\nDeposit?"},
        {"role": "assistant", "content": "$100."},
        {"role": "user", "content": "Thanks."},
    ]
