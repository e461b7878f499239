"""The one shape every model adapter has: a request in, a completion out.

"Who we talk to" (base URL, key, client lifecycle) is decided when an adapter is built; the
adapter itself only knows its wire format. The router, fallback chains and the ensemble take
and return the same types, so a call site never knows whether it holds one model or a chain.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncGenerator
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant"]


class ChatMessage(BaseModel):
    """One message of a chat prompt."""

    model_config = ConfigDict(frozen=True)

    role: Role
    content: str


class ContextPassage(BaseModel):
    """A retrieved passage handed to a model; the extractive adapter answers from these."""

    model_config = ConfigDict(frozen=True)

    text: str
    source: str = ""
    heading_path: str = ""
    chunk_id: int | None = None
    score: float = 0.0


class CompletionRequest(BaseModel):
    """What a caller asks of a model. LLM adapters read `messages`; `context` is metadata
    for adapters that work from passages (the prompt already contains them for LLMs)."""

    model_config = ConfigDict(frozen=True)

    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int = Field(default=256, ge=1, le=32_768)
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    stop: list[str] | None = None
    timeout_s: float = Field(default=60.0, gt=0)
    context: list[ContextPassage] = Field(default_factory=list)

    @property
    def question(self) -> str:
        """The last user message: what the customer actually asked."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.content
        return self.messages[-1].content


FinishReason = Literal["stop", "length", "content_filter", "tool_calls", "other"]


class Completion(BaseModel):
    """A model's answer with the accounting every call row needs."""

    text: str
    model: str
    provider: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: float = 0.0
    finish_reason: FinishReason = "stop"


class StreamChunk(BaseModel):
    """A piece of a streamed answer; the last one carries the finish reason and the usage."""

    model_config = ConfigDict(frozen=True)

    text: str = ""
    finish_reason: FinishReason | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None

    @property
    def last(self) -> bool:
        return self.finish_reason is not None


class Provider(abc.ABC):
    """A model adapter: one required async method, capabilities as class attributes.

    `stream` is optional: adapters with `can_stream = False` answer it with their whole
    completion as one chunk, so every caller may stream from every model.
    """

    kind: ClassVar[str]
    can_stream: ClassVar[bool] = False
    needs_network: ClassVar[bool] = True

    def __init__(self, *, model: str) -> None:
        self.model = model

    @abc.abstractmethod
    async def complete(self, request: CompletionRequest) -> Completion:
        """Answer the request or raise a `triad.errors.ProviderError`."""

    async def stream(self, request: CompletionRequest) -> AsyncGenerator[StreamChunk, None]:
        """Yield the answer as it is generated; errors are the same `ProviderError`s as
        `complete` raises. Only the last chunk has `finish_reason` (and usage, when known)."""
        done = await self.complete(request)
        if done.text:
            yield StreamChunk(text=done.text)
        yield StreamChunk(
            finish_reason=done.finish_reason,
            input_tokens=done.input_tokens,
            output_tokens=done.output_tokens,
        )

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most adapters hold nothing
        """Release clients or processes; safe to call twice."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r})"
