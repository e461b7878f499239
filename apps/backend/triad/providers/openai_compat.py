"""The OpenAI chat-completions wire format, shared by OpenAI, xAI and any compatible server.

Which service answers is decided by the `openai.AsyncOpenAI` client handed in (base URL, key);
OpenAI-compatible services are rows of configuration, not new classes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import ClassVar

import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessageParam

from triad.errors import ContentFilteredError, ProviderError
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
    "stop": "stop",
    "length": "length",
    "content_filter": "content_filter",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
}


def _message(message: ChatMessage) -> ChatCompletionMessageParam:
    if message.role == "system":
        return {"role": "system", "content": message.content}
    if message.role == "assistant":
        return {"role": "assistant", "content": message.content}
    return {"role": "user", "content": message.content}


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class OpenAIProvider(Provider):
    """One chat completion per call through `openai.AsyncOpenAI`, with SDK retries forced off.

    The adapter owns the client it is given: `aclose` closes it. Retrying is the router's job,
    so a client built with retries is copied with `max_retries=0`.
    """

    kind: ClassVar[str] = "openai"
    can_stream: ClassVar[bool] = True

    def __init__(self, client: openai.AsyncOpenAI, *, model: str, provider: str = "openai") -> None:
        super().__init__(model=model)
        self.provider = provider
        self._client = client if client.max_retries == 0 else client.with_options(max_retries=0)
        self._closed = False

    async def complete(self, request: CompletionRequest) -> Completion:
        """Send the chat; every failure leaves as a `ProviderError` naming provider and model."""
        started = time.perf_counter()
        with converted_errors(self._convert):
            async with asyncio.timeout(request.timeout_s):
                response: object = await self._client.chat.completions.create(
                    model=self.model,
                    messages=[_message(m) for m in request.messages],
                    max_tokens=request.max_tokens,
                    temperature=request.temperature,
                    stop=request.stop if request.stop else openai.omit,
                    timeout=request.timeout_s,
                )
        return self._completion(response, (time.perf_counter() - started) * 1000.0)

    def stream(self, request: CompletionRequest) -> AsyncGenerator[StreamChunk, None]:
        """Stream the chat; `timeout_s` bounds the whole stream, usage comes on the last chunk."""
        return converted_stream(self._stream(request), self._convert)

    async def _stream(self, request: CompletionRequest) -> AsyncGenerator[StreamChunk, None]:
        deadline = asyncio.get_running_loop().time() + request.timeout_s
        async with asyncio.timeout_at(deadline):
            upstream = await self._client.chat.completions.create(
                model=self.model,
                messages=[_message(m) for m in request.messages],
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                stop=request.stop if request.stop else openai.omit,
                timeout=request.timeout_s,
                stream=True,
                stream_options={"include_usage": True},
            )
        finish: FinishReason | None = None
        usage: object = None
        said = False
        try:
            chunks = aiter(upstream)
            while True:
                try:
                    async with asyncio.timeout_at(deadline):
                        chunk: object = await anext(chunks)
                except StopAsyncIteration:
                    break
                text, reason, refused = self._delta(chunk)
                usage = getattr(chunk, "usage", None) or usage
                finish = reason or finish
                if refused and not said:
                    raise ContentFilteredError(
                        f"{self.provider} model '{self.model}' refused to answer",
                        provider=self.provider,
                        model=self.model,
                    )
                if text:
                    said = True
                    yield StreamChunk(text=text)
        finally:
            await upstream.close()
        if finish is None:
            raise malformed(self.provider, self.model, "the stream ended without a finish reason")
        yield StreamChunk(
            finish_reason=finish,
            input_tokens=_int_or_none(getattr(usage, "prompt_tokens", None)),
            output_tokens=_int_or_none(getattr(usage, "completion_tokens", None)),
        )

    def _delta(self, chunk: object) -> tuple[str, FinishReason | None, bool]:
        """The text, finish reason and refusal flag of one chunk (the usage chunk has none)."""
        if not isinstance(chunk, ChatCompletionChunk):
            raise malformed(self.provider, self.model, "a stream event is not a completion chunk")
        if not chunk.choices:
            return "", None, False
        choice = chunk.choices[0]
        text = choice.delta.content if isinstance(choice.delta.content, str) else ""
        reason = _FINISH.get(str(choice.finish_reason), "other") if choice.finish_reason else None
        return text, reason, bool(getattr(choice.delta, "refusal", None))

    def _convert(self, exc: Exception) -> ProviderError | None:
        key = self._client.api_key
        secrets = (key if isinstance(key, str) else None,)
        return convert_exception(exc, provider=self.provider, model=self.model, secrets=secrets)

    def _completion(self, response: object, latency_ms: float) -> Completion:
        """Read only the fields we need, so a wrong-shape 200 becomes MalformedResponseError."""
        if not isinstance(response, ChatCompletion):
            raise malformed(self.provider, self.model, "the body is not a chat completion object")
        try:
            choice = response.choices[0]
            content = choice.message.content
            refusal = getattr(choice.message, "refusal", None)
            tool_calls = getattr(choice.message, "tool_calls", None)
            finish = _FINISH.get(str(choice.finish_reason), "other")
            usage = getattr(response, "usage", None)
        except (AttributeError, IndexError, KeyError, TypeError) as exc:
            raise malformed(self.provider, self.model, "no choices[0].message in the body") from exc
        if content is None and refusal:
            raise ContentFilteredError(
                f"{self.provider} model '{self.model}' refused to answer",
                provider=self.provider,
                model=self.model,
            )
        if content is None and tool_calls:
            content, finish = "", "tool_calls"
        if not isinstance(content, str):
            raise malformed(self.provider, self.model, "choices[0].message.content is not text")
        return Completion(
            text=content,
            model=self.model,
            provider=self.provider,
            input_tokens=_int_or_none(getattr(usage, "prompt_tokens", None)),
            output_tokens=_int_or_none(getattr(usage, "completion_tokens", None)),
            latency_ms=latency_ms,
            finish_reason=finish,
        )

    async def aclose(self) -> None:
        """Close the SDK client (and its connection pool); a second call does nothing."""
        if self._closed:
            return
        self._closed = True
        await self._client.close()
