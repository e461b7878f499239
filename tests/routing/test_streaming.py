"""Streaming over the router: fallback until the first token, the router's skips and breakers,
accounting when the stream ends, and a typed error (counted against the model) after it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from tests.routing.helpers import (
    KEY,
    LOCAL,
    ONE_FAILURE_OPENS,
    OPENAI,
    REQUEST,
    make_router,
    provider_for,
    routing,
)
from tests.support.scripted import ScriptedProvider
from triad.errors import (
    AllProvidersFailedError,
    BudgetExceededError,
    ProviderTimeoutError,
    ProviderUnavailableError,
)
from triad.providers.base import Completion, CompletionRequest, Provider, StreamChunk
from triad.routing.router import Router, attempts_of
from triad.routing.streaming import RoutedStream, StreamRouter
from triad.routing.types import BudgetDecision, RoutedCompletion, RouteKey


def down() -> ProviderUnavailableError:
    return ProviderUnavailableError("HTTP 503", status_code=503)


class BreaksAfter(Provider):
    """Streams one piece, then the connection drops."""

    kind = "breaks"
    can_stream = True
    needs_network = False

    def __init__(self) -> None:
        super().__init__(model="breaks")
        self.calls = 0

    async def complete(self, request: CompletionRequest) -> Completion:
        raise AssertionError("not used")

    async def stream(self, request: CompletionRequest) -> AsyncGenerator[StreamChunk, None]:
        self.calls += 1
        yield StreamChunk(text="We do ")
        raise down()


def streaming(providers: dict[str, Provider], **options: Any) -> tuple[Router, StreamRouter]:
    """A router on a fake clock, and the stream router over it and the same models."""
    router, _ = make_router(providers, **options)
    return router, StreamRouter(router, provider_for(providers))


async def drain(stream: RoutedStream) -> str:
    return "".join([chunk.text async for chunk in stream.chunks])


async def test_falls_back_until_a_stream_starts_without_retrying() -> None:
    primary = ScriptedProvider(down())
    _, streams = streaming({OPENAI: primary, LOCAL: ScriptedProvider("From local.")})
    stream = await streams.open(KEY, REQUEST)
    assert stream.model_id == LOCAL and stream.degraded, "local is a lower tier than openai"
    assert await drain(stream) == "From local."
    assert len(primary.history) == 1
    failed, answered = stream.attempts
    assert (failed.outcome, failed.error_type) == ("error", "ProviderUnavailableError")
    assert answered.outcome == "ok" and answered.reason.endswith("; streamed")
    assert (answered.input_tokens, answered.output_tokens) == (1, 2)
    assert stream.completion is not None and stream.completion.text == "From local."


async def test_an_open_breaker_is_skipped_at_no_cost() -> None:
    primary = ScriptedProvider(down())
    config = routing(breaker=ONE_FAILURE_OPENS)
    router, streams = streaming({OPENAI: primary, LOCAL: ScriptedProvider("ok")}, config=config)
    await drain(await streams.open(KEY, REQUEST))
    assert router.breakers[OPENAI].state == "open"
    second = await streams.open(KEY, REQUEST)
    await drain(second)
    assert second.attempts[0].outcome == "skipped_breaker"
    assert len(primary.history) == 1


async def test_a_failure_after_the_first_token_is_raised_and_counted() -> None:
    breaks = BreaksAfter()
    config = routing(breaker=ONE_FAILURE_OPENS)
    router, streams = streaming({OPENAI: breaks, LOCAL: ScriptedProvider("x")}, config=config)
    stream = await streams.open(KEY, REQUEST)
    seen: list[str] = []
    with pytest.raises(ProviderUnavailableError):
        async for chunk in stream.chunks:
            seen.append(chunk.text)
    assert seen == ["We do "] and breaks.calls == 1
    [record] = stream.attempts
    assert record.outcome == "error" and "after streaming" in (record.error or "")
    assert record.output_tokens and record.tokens_estimated
    assert router.breakers[OPENAI].state == "open"
    assert stream.completion is None


async def test_no_first_token_in_time_falls_back() -> None:
    silent = ScriptedProvider("never")
    silent.gate = asyncio.Event()
    _, streams = streaming({OPENAI: silent, LOCAL: ScriptedProvider("ok")})
    request = REQUEST.model_copy(update={"timeout_s": 0.05})
    stream = await streams.open(KEY, request)
    assert await drain(stream) == "ok"
    assert stream.attempts[0].error_type == ProviderTimeoutError.__name__


async def test_every_model_failing_carries_every_attempt() -> None:
    _, streams = streaming({OPENAI: ScriptedProvider(down()), LOCAL: ScriptedProvider(down())})
    with pytest.raises(AllProvidersFailedError) as caught:
        await streams.open(KEY, REQUEST)
    assert [r.model_id for r in attempts_of(caught.value)] == [OPENAI, LOCAL]


class RefuseAll:
    async def check(
        self, key: RouteKey, model_id: str, request: CompletionRequest
    ) -> BudgetDecision:
        return BudgetDecision(False, "agent menu spent $5.00 of $5.00 today", "agent:menu")


async def test_a_budget_refusing_every_model_is_the_budgets_error() -> None:
    models: dict[str, Provider] = {OPENAI: ScriptedProvider("x"), LOCAL: ScriptedProvider("x")}
    _, streams = streaming(models, budget=RefuseAll())
    with pytest.raises(BudgetExceededError) as caught:
        await streams.open(KEY, REQUEST)
    assert caught.value.budget == "agent:menu"
    assert {r.outcome for r in attempts_of(caught.value)} == {"skipped_budget"}


class MemoryCache:
    def __init__(self, hit: Completion | None = None) -> None:
        self.hit = hit
        self.stored: list[RoutedCompletion] = []

    async def lookup(self, key: RouteKey, request: CompletionRequest) -> Completion | None:
        return self.hit

    async def store(
        self, key: RouteKey, request: CompletionRequest, routed: RoutedCompletion
    ) -> None:
        self.stored.append(routed)


async def test_a_finished_stream_is_stored_and_a_hit_is_replayed_without_a_call() -> None:
    cache = MemoryCache()
    model = ScriptedProvider("Stored answer.")
    _, streams = streaming({OPENAI: model}, cache=cache)
    await drain(await streams.open(KEY, REQUEST))
    [stored] = cache.stored
    assert stored.completion.text == "Stored answer." and stored.model_id == OPENAI

    cache.hit = stored.completion
    replay = await streams.open(KEY, REQUEST)
    assert await drain(replay) == "Stored answer."
    assert replay.cached and [a.outcome for a in replay.attempts] == ["cache_hit"]
    assert len(model.history) == 1
