"""Hedged calls: a model that stays silent gets a parallel duplicate within the deadline.

These run on the real clock (the hedge is a race between a call and a timer) with waits of
tens of milliseconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Mapping

import pytest

from tests.routing.helpers import KEY, LOCAL, OPENAI, REGISTRY, REQUEST, provider_for, routing
from triad.errors import ProviderUnavailableError, RateLimitedError
from triad.providers.base import Completion, CompletionRequest, Provider, StreamChunk
from triad.routing.breaker import Permit
from triad.routing.router import Router, RoutingFailedError
from triad.routing.streaming import StreamRouter

HANG = "hang"


class Silent(Provider):
    """Each call takes the next step: HANG (never answers), an error to raise, or a text."""

    kind = "scripted"
    needs_network = False

    def __init__(self, *steps: str | Exception) -> None:
        super().__init__(model="silent")
        self.steps = list(steps)
        self.calls = 0
        self.cancelled = 0
        self.called = asyncio.Event()

    async def complete(self, request: CompletionRequest) -> Completion:
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        self.called.set()
        if step == HANG:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        if isinstance(step, Exception):
            raise step
        return Completion(text=str(step), model=self.model, provider="scripted")


def router(
    providers: dict[str, Provider], breaker: Mapping[str, object] | None = None, **retry: object
) -> Router:
    policy = {"max_attempts": 3, "base_s": 0.01, "cap_s": 1, "deadline_s": 5}
    config = routing(retry={**policy, **retry}, breaker=breaker or {})
    return Router(config, REGISTRY, provider_for(providers))


async def test_a_hung_call_is_hedged_and_the_hedge_answers() -> None:
    primary = Silent(HANG, "second call answers")
    started = time.monotonic()
    routed = await router({OPENAI: primary}, hedge_after_s=0.05).route(KEY, REQUEST)
    elapsed = time.monotonic() - started
    assert routed.completion.text == "second call answers" and routed.model_id == OPENAI
    assert elapsed < 1.0, "the hang cost the hedge delay, not the 30 s request timeout"
    assert primary.calls == 2 and primary.cancelled == 1, "the hung call was cancelled"
    [record] = routed.attempts
    assert record.outcome == "ok" and record.retry_count == 1
    assert "hedged after 0.05s" in record.reason


async def test_without_a_hedge_the_hang_takes_the_whole_deadline() -> None:
    primary = Silent(HANG, "never asked")
    started = time.monotonic()
    with pytest.raises(RoutingFailedError) as caught:
        await router({OPENAI: primary}, hedge_after_s=None, max_attempts=1).route(
            KEY, REQUEST, deadline_s=0.3
        )
    assert time.monotonic() - started >= 0.3 and primary.calls == 1
    assert caught.value.records[0].error_type == "ProviderTimeoutError"


async def test_a_fast_answer_is_never_hedged() -> None:
    primary = Silent("at once")
    routed = await router({OPENAI: primary}, hedge_after_s=0.05).route(KEY, REQUEST)
    await asyncio.sleep(0.1)
    assert primary.calls == 1 and "hedged" not in routed.attempts[0].reason


async def test_a_failed_hedge_is_retried_while_the_hung_call_waits() -> None:
    primary = Silent(HANG, ProviderUnavailableError("HTTP 500"), "third call answers")
    routed = await router({OPENAI: primary}, hedge_after_s=0.05).route(KEY, REQUEST)
    assert routed.completion.text == "third call answers" and primary.calls == 3
    assert primary.cancelled == 1


async def test_one_hedge_beside_max_attempts_and_the_deadline_still_holds() -> None:
    primary, backup = Silent(HANG), Silent("backup answers")
    started = time.monotonic()
    routed = await router({OPENAI: primary, LOCAL: backup}, hedge_after_s=0.05).route(
        KEY, REQUEST.model_copy(update={"timeout_s": 0.4})
    )
    assert primary.calls == 4, "the first call, one hedge of it, two retries; no more"
    assert routed.model_id == LOCAL and time.monotonic() - started < 3.0
    first = routed.attempts[0]
    assert first.outcome == "error" and first.error_type == "ProviderTimeoutError"
    assert first.reason.count("hedged after") == 1 and first.retry_count == 3


async def test_a_hung_call_hedged_then_failing_retries_still_get_their_attempts() -> None:
    down = ProviderUnavailableError("HTTP 500")
    primary = Silent(HANG, down, down, "the last attempt answers")
    routed = await router({OPENAI: primary}, hedge_after_s=0.05).route(KEY, REQUEST)
    assert routed.completion.text == "the last attempt answers" and primary.calls == 4


async def test_retry_after_is_waited_within_the_deadline() -> None:
    primary = Silent(RateLimitedError("HTTP 429", retry_after=0.2), "after the wait")
    started = time.monotonic()
    routed = await router({OPENAI: primary}, hedge_after_s=5).route(KEY, REQUEST)
    assert routed.completion.text == "after the wait"
    assert 0.2 <= time.monotonic() - started < 1.0


async def test_a_cancelled_route_cancels_its_calls_and_frees_the_probe() -> None:
    primary = Silent(HANG)
    opens = {"min_calls": 1, "open_s": 0.05, "max_open_s": 0.05, "probes": 2}
    routes = router({OPENAI: primary}, breaker=opens, hedge_after_s=0.02)
    breaker = routes.breakers[OPENAI]
    breaker.failure(Permit.CALL)
    await asyncio.sleep(0.06)  # the open period is over: half-open at the next call
    task = asyncio.create_task(routes.route(KEY, REQUEST))
    while primary.calls < 2:
        await primary.called.wait()
        primary.called.clear()
    assert breaker.state == "half_open" and breaker.acquire() is None, "both probes are out"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert primary.cancelled == 2, "the call and its hedge were cancelled"
    assert breaker.acquire() is Permit.PROBE, "their probe slots were given back"


async def test_a_model_with_a_fast_history_is_hedged_early() -> None:
    """Twice a recent p95 of a few milliseconds is below hedge_min_s: the hedge comes then,
    not after hedge_after_s (which only holds while the model has no history)."""
    primary = Silent(*["fast"] * 5, HANG, "the hedge answers")
    routes = router({OPENAI: primary}, hedge_after_s=30, hedge_min_s=0.05)
    for _ in range(5):
        await routes.route(KEY, REQUEST)
    started = time.monotonic()
    routed = await routes.route(KEY, REQUEST)
    assert routed.completion.text == "the hedge answers"
    assert time.monotonic() - started < 1.0 and "hedged after 0.05s" in routed.attempts[0].reason


class SilentStream(Silent):
    """Streams: the same steps, a text yielded word by word."""

    can_stream = True

    async def stream(self, request: CompletionRequest) -> AsyncGenerator[StreamChunk, None]:
        done = await self.complete(request)
        for word in done.text.split():
            yield StreamChunk(text=word + " ")
        yield StreamChunk(finish_reason="stop")


async def test_a_silent_stream_is_hedged_and_the_hedge_is_streamed() -> None:
    primary = SilentStream(HANG, "the hedge streams")
    routes = router({OPENAI: primary}, hedge_after_s=0.05)
    streams = StreamRouter(routes, provider_for({OPENAI: primary}))
    started = time.monotonic()
    stream = await streams.open(KEY, REQUEST)
    text = "".join([chunk.text async for chunk in stream.chunks])
    assert text == "the hedge streams " and time.monotonic() - started < 1.0
    assert primary.calls == 2 and primary.cancelled == 1, "the silent stream was closed"
    assert "hedged after 0.05s" in stream.attempts[0].reason and stream.model_id == OPENAI
