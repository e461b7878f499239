"""OpenAI's chat-completions wire shapes, so the official SDK and its clients read us unchanged.

Only what Triad can honour is accepted: text messages, sampling limits, stop sequences, one
choice. Fields that change the answer in ways Triad cannot (tools, `n` > 1, log-probabilities)
are refused with a 400 naming them; other unknown fields are ignored, as OpenAI-compatible
servers usually do, so new SDK versions keep working.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from triad.providers.base import ChatMessage, FinishReason, Role
from triad.routing.types import Priority

_ROLES: dict[str, Role] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
}


class TextPart(BaseModel):
    """One part of a multi-part message; only text parts are supported."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["text"]
    text: str


class MessageIn(BaseModel):
    """One message as OpenAI clients send it (`developer` is read as `system`)."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None
    name: str | None = None

    def as_chat(self) -> ChatMessage:
        text = (
            self.content
            if isinstance(self.content, str)
            else "".join(p.text for p in self.content or [])
        )
        return ChatMessage(role=_ROLES[self.role], content=text)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class ChatCompletionIn(BaseModel):
    """The body of `POST /v1/chat/completions`; `priority` and `task_type` are Triad's own."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=200)
    messages: list[MessageIn] = Field(min_length=1, max_length=200)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1, le=32_768)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=32_768)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    stop: str | list[str] | None = None
    n: int | None = Field(default=None, ge=1)
    user: str | None = Field(default=None, max_length=200)
    tools: list[Any] | None = None
    functions: list[Any] | None = None
    logprobs: bool | None = None
    priority: Priority | None = Field(default=None, description="Triad: low | medium | high")
    task_type: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9_.-]+$",
        description="Triad: the route of `triad/auto` (default: `default`)",
    )

    @field_validator("stop")
    @classmethod
    def _stops(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value

    @model_validator(mode="after")
    def _supported(self) -> ChatCompletionIn:
        if self.tools or self.functions:
            raise ValueError("tools and functions are not supported by Triad")
        if self.n is not None and self.n > 1:
            raise ValueError("only n=1 is supported")
        if self.logprobs:
            raise ValueError("logprobs are not supported")
        return self

    @property
    def chat(self) -> list[ChatMessage]:
        return [m.as_chat() for m in self.messages]

    @property
    def limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def stops(self) -> list[str] | None:
        if self.stop is None:
            return None
        return [self.stop] if isinstance(self.stop, str) else self.stop or None


SSE_DONE = b"data: [DONE]\n\n"


def sse(payload: dict[str, Any]) -> bytes:
    """One server-sent event carrying a JSON object, as OpenAI streams them."""
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"


def _finish(reason: FinishReason | None) -> str | None:
    return None if reason is None else ("stop" if reason == "other" else reason)


def usage(input_tokens: int | None, output_tokens: int | None) -> dict[str, int]:
    prompt, completion = input_tokens or 0, output_tokens or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def completion_body(
    *,
    cid: str,
    model: str,
    text: str,
    finish: FinishReason,
    input_tokens: int | None,
    output_tokens: int | None,
    triad: dict[str, Any],
) -> dict[str, Any]:
    """A `chat.completion` object; `triad` carries how the answer was obtained."""
    return {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "finish_reason": _finish(finish),
                "logprobs": None,
            }
        ],
        "usage": usage(input_tokens, output_tokens),
        "system_fingerprint": None,
        "triad": triad,
    }


def chunk_body(
    *,
    cid: str,
    model: str,
    created: int,
    delta: dict[str, str] | None = None,
    finish: FinishReason | None = None,
    usage_: dict[str, int] | None = None,
    triad: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A `chat.completion.chunk`; the usage chunk has no choices, as OpenAI sends it."""
    body: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": []
        if usage_ is not None
        else [{"index": 0, "delta": delta or {}, "finish_reason": _finish(finish)}],
    }
    if usage_ is not None:
        body["usage"] = usage_
    if triad is not None:
        body["triad"] = triad
    return body


ErrorType = Literal[
    "invalid_request_error",
    "authentication_error",
    "not_found_error",
    "rate_limit_error",
    "server_error",
]


class OpenAIError(BaseModel):
    model_config = ConfigDict(extra="allow")

    message: str
    type: ErrorType
    param: str | None
    code: str | None


class OpenAIErrorOut(BaseModel):
    """The error body of every `/v1` route, as the OpenAI SDK reads it (400 for bad input)."""

    error: OpenAIError


def error_body(
    message: str,
    *,
    type_: ErrorType = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """OpenAI's error envelope, which the SDK reads into `APIStatusError.message`."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code, **extra}}


def error_type_for(status: int) -> ErrorType:
    if status == 401:
        return "authentication_error"
    if status == 404:
        return "not_found_error"
    if status == 429:
        return "rate_limit_error"
    return "server_error" if status >= 500 else "invalid_request_error"
