"""Ollama's native `/api/chat` over the official `ollama.AsyncClient`, for self-hosted models.

The ollama SDK turns HTTP errors into `ResponseError` and drops the response headers, so the
client built here carries a response hook that raises first, keeping `Retry-After`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

import httpx
import ollama

from triad.errors import ProviderError
from triad.providers._convert import (
    UpstreamStatusError,
    convert_exception,
    converted_errors,
    malformed,
)
from triad.providers.base import Completion, CompletionRequest, FinishReason, Provider

_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length"}


async def _raise_on_error_status(response: httpx.Response) -> None:
    """httpx response hook: an error status leaves with its headers instead of losing them."""
    if response.is_error:
        await response.aread()
        raise UpstreamStatusError(response.status_code, response.headers, response.text)


def ollama_client(host: str | None = None, **kwargs: Any) -> ollama.AsyncClient:
    """An `ollama.AsyncClient` whose error statuses keep their headers (see module docstring).

    No client-wide timeout is set: each request carries its own deadline.
    """
    hooks = kwargs.pop("event_hooks", {})
    hooks = {**hooks, "response": [*hooks.get("response", []), _raise_on_error_status]}
    return ollama.AsyncClient(host=host, event_hooks=hooks, **kwargs)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class OllamaProvider(Provider):
    """One non-streaming `/api/chat` per completion; owns and closes its client.

    `options` are passed through to Ollama (e.g. `num_ctx`); temperature, max tokens and stop
    words come from each request.
    """

    kind: ClassVar[str] = "ollama"

    def __init__(
        self,
        client: ollama.AsyncClient,
        *,
        model: str,
        provider: str = "ollama",
        options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(model=model)
        self.provider = provider
        self._client = client
        self._options = dict(options or {})
        self._closed = False

    async def complete(self, request: CompletionRequest) -> Completion:
        """Send the chat with `stream=False`; every failure leaves as a `ProviderError`."""
        options: dict[str, Any] = {
            **self._options,
            "temperature": request.temperature,
            "num_predict": request.max_tokens,
        }
        if request.stop:
            options["stop"] = list(request.stop)
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        started = time.perf_counter()
        with converted_errors(self._convert):
            async with asyncio.timeout(request.timeout_s):
                response: object = await self._client.chat(
                    model=self.model, messages=messages, stream=False, options=options
                )
        return self._completion(response, (time.perf_counter() - started) * 1000.0)

    def _convert(self, exc: Exception) -> ProviderError | None:
        return convert_exception(exc, provider=self.provider, model=self.model)

    def _completion(self, response: object, latency_ms: float) -> Completion:
        if not isinstance(response, ollama.ChatResponse):
            raise malformed(self.provider, self.model, "the body is not a chat response")
        content = response.message.content
        if not isinstance(content, str):
            raise malformed(self.provider, self.model, "message.content is missing")
        finish = _FINISH.get(str(response.done_reason), "other")
        return Completion(
            text=content,
            model=self.model,
            provider=self.provider,
            input_tokens=_int_or_none(response.prompt_eval_count),
            output_tokens=_int_or_none(response.eval_count),
            latency_ms=latency_ms,
            finish_reason=finish,
        )

    async def aclose(self) -> None:
        """Close the client's connection pool; a second call does nothing."""
        if self._closed:
            return
        self._closed = True
        await self._client.close()  # type: ignore[no-untyped-call]
