"""A scripted model: answers from a queue (or a function), and remembers every request."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ClassVar

from triad.providers.base import Completion, CompletionRequest, Provider

Script = str | BaseException | Callable[[CompletionRequest], str]


class ScriptedProvider(Provider):
    """Each call takes the next scripted item: a text to answer, or an error to raise.

    The last item repeats once the queue is down to one, so a single answer serves many turns.
    A `gate` event, when set on the instance, must fire before the answer comes (to prove two
    calls overlap without timing them).
    """

    kind: ClassVar[str] = "scripted"
    needs_network: ClassVar[bool] = False

    def __init__(self, *items: Script, model: str = "scripted", delay_s: float = 0.0) -> None:
        super().__init__(model=model)
        self.queue: list[Script] = list(items)
        self.history: list[CompletionRequest] = []
        self.delay_s = delay_s
        self.started = asyncio.Event()
        self.gate: asyncio.Event | None = None

    def enqueue(self, *items: Script) -> None:
        self.queue.extend(items)

    async def complete(self, request: CompletionRequest) -> Completion:
        self.history.append(request)
        self.started.set()
        if self.gate is not None:
            await asyncio.wait_for(self.gate.wait(), timeout=5)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        item = self.queue.pop(0) if len(self.queue) > 1 else self.queue[0]
        if isinstance(item, BaseException):
            raise item
        text = item(request) if callable(item) else item
        return Completion(
            text=text,
            model=self.model,
            provider="scripted",
            input_tokens=sum(len(m.content.split()) for m in request.messages),
            output_tokens=len(text.split()),
            latency_ms=1.0,
        )
