"""The Anthropic Messages wire format over the official `anthropic.AsyncAnthropic` SDK.

Messages differs from chat completions in two ways that matter here: the system prompt is a
separate parameter, and roles must alternate, so consecutive same-role messages are merged.
The installed SDK no longer exposes `temperature` on `messages.create`, so it is not sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Sequence
from typing import ClassVar

import anthropic
import httpx2
from anthropic.types import Message, MessageParam

from triad.errors import (
    ContentFilteredError,
    ProviderError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from triad.providers._convert import (
    convert_exception,
    converted_errors,
    converted_stream,
    malformed,
)
from triad.providers.base import (
    ChatMessage,
    Completion,
    CompletionRequest,
    FinishReason,
    Provider,
    StreamChunk,
)

_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def split_messages(messages: Sequence[ChatMessage]) -> tuple[str, list[MessageParam]]:
    """The joined system prompt, and the other messages with same-role neighbours merged."""
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    merged: list[tuple[str, list[str]]] = []
    for message in messages:
        if message.role == "system":
            continue
        if merged and merged[-1][0] == message.role:
            merged[-1][1].append(message.content)
        else:
            merged.append((message.role, [message.content]))
    turns: list[MessageParam] = []
    for role, parts in merged:
        content = "\n\n".join(parts)
        turns.append(
            {"role": "assistant", "content": content}
            if role == "assistant"
            else {"role": "user", "content": content}
        )
    return system, turns


def _tokens(usage: object, *names: str) -> int | None:
    values = [getattr(usage, name, None) for name in names]
    counted = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    return sum(counted) if counted else None


def _transport_error(exc: httpx2.HTTPError, provider: str, model: str) -> ProviderError:
    """A connection dropped mid-stream: the Anthropic SDK lets httpx2's error through as is."""
    said = f"{provider} model '{model}'"
    if isinstance(exc, httpx2.TimeoutException):
        return ProviderTimeoutError(
            f"{said} did not answer within the deadline", provider=provider, model=model
        )
    return ProviderUnavailableError(
        f"{said} dropped the stream ({type(exc).__name__})", provider=provider, model=model
    )


class AnthropicProvider(Provider):
    """One Messages call per completion, SDK retries forced off; owns and closes its client."""

    kind: ClassVar[str] = "anthropic"
    can_stream: ClassVar[bool] = True

    def __init__(
        self, client: anthropic.AsyncAnthropic, *, model: str, provider: str = "anthropic"
    ) -> None:
        super().__init__(model=model)
        self.provider = provider
        self._client = client if client.max_retries == 0 else client.with_options(max_retries=0)
        self._closed = False

    async def complete(self, request: CompletionRequest) -> Completion:
        """Send the conversation; every failure leaves as a `ProviderError`."""
        system, turns = split_messages(request.messages)
        started = time.perf_counter()
        with converted_errors(self._convert):
            async with asyncio.timeout(request.timeout_s):
                response: object = await self._client.messages.create(
                    model=self.model,
                    max_tokens=request.max_tokens,
                    messages=turns,
                    system=system if system else anthropic.omit,
                    stop_sequences=request.stop if request.stop else anthropic.omit,
                    timeout=request.timeout_s,
                )
        return self._completion(response, (time.perf_counter() - started) * 1000.0)

    def stream(self, request: CompletionRequest) -> AsyncGenerator[StreamChunk, None]:
        """Stream the Messages events as text; `timeout_s` bounds the whole stream."""
        return converted_stream(self._stream(request), self._convert)

    async def _stream(self, request: CompletionRequest) -> AsyncGenerator[StreamChunk, None]:
        system, turns = split_messages(request.messages)
        deadline = asyncio.get_running_loop().time() + request.timeout_s
        async with asyncio.timeout_at(deadline):
            upstream = await self._client.messages.create(
                model=self.model,
                max_tokens=request.max_tokens,
                messages=turns,
                system=system if system else anthropic.omit,
                stop_sequences=request.stop if request.stop else anthropic.omit,
                timeout=request.timeout_s,
                stream=True,
            )
        finish: FinishReason | None = None
        input_tokens: int | None = None
        output_tokens: int | None = None
        said = False
        try:
            events = aiter(upstream)
            while True:
                try:
                    async with asyncio.timeout_at(deadline):
                        event: object = await anext(events)
                except StopAsyncIteration:
                    break
                kind = getattr(event, "type", None)
                if kind == "message_start":
                    usage = getattr(getattr(event, "message", None), "usage", None)
                    input_tokens = _tokens(
                        usage,
                        "input_tokens",
                        "cache_read_input_tokens",
                        "cache_creation_input_tokens",
                    )
                elif kind == "content_block_delta":
                    text = getattr(getattr(event, "delta", None), "text", None)
                    if isinstance(text, str) and text:
                        said = True
                        yield StreamChunk(text=text)
                elif kind == "message_delta":
                    reason = getattr(getattr(event, "delta", None), "stop_reason", None)
                    finish = _FINISH.get(str(reason), "other") if reason else finish
                    output_tokens = _tokens(getattr(event, "usage", None), "output_tokens")
        finally:
            await upstream.close()
        if finish is None:
            raise malformed(self.provider, self.model, "the stream ended without a stop reason")
        if not said and finish == "content_filter":
            raise ContentFilteredError(
                f"{self.provider} model '{self.model}' refused to answer",
                provider=self.provider,
                model=self.model,
            )
        yield StreamChunk(
            finish_reason=finish, input_tokens=input_tokens, output_tokens=output_tokens
        )

    def _convert(self, exc: Exception) -> ProviderError | None:
        secrets = (self._client.api_key, self._client.auth_token)
        converted = convert_exception(
            exc, provider=self.provider, model=self.model, secrets=secrets
        )
        if converted is None and isinstance(exc, httpx2.HTTPError):
            converted = _transport_error(exc, self.provider, self.model)
        return converted

    def _completion(self, response: object, latency_ms: float) -> Completion:
        """Join the text blocks; a body without a content list is MalformedResponseError."""
        if not isinstance(response, Message):
            raise malformed(self.provider, self.model, "the body is not a Messages response")
        try:
            blocks = list(response.content)
            finish = _FINISH.get(str(response.stop_reason), "other")
            usage = getattr(response, "usage", None)
        except (AttributeError, TypeError) as exc:
            raise malformed(self.provider, self.model, "no content list in the body") from exc
        texts: list[str] = []
        for block in blocks:
            if getattr(block, "type", None) == "text":
                part = getattr(block, "text", None)
                if not isinstance(part, str):
                    raise malformed(self.provider, self.model, "a text block has no text")
                texts.append(part)
        text = "".join(texts)
        if not text and finish == "content_filter":
            raise ContentFilteredError(
                f"{self.provider} model '{self.model}' refused to answer",
                provider=self.provider,
                model=self.model,
            )
        return Completion(
            text=text,
            model=self.model,
            provider=self.provider,
            input_tokens=_tokens(
                usage, "input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"
            ),
            output_tokens=_tokens(usage, "output_tokens"),
            latency_ms=latency_ms,
            finish_reason=finish,
        )

    async def aclose(self) -> None:
        """Close the SDK client; a second call does nothing."""
        if self._closed:
            return
        self._closed = True
        await self._client.close()
