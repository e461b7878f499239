"""The one retry loop: only retryable errors, full-jitter backoff, Retry-After, one deadline.

Clock, sleep and randomness are injected, so every count and every wait is checked exactly,
without waiting for real.
"""

from __future__ import annotations

import random

import pytest

from tests.routing.helpers import KEY, LOCAL, OPENAI, REQUEST, FakeTime, make_router, routing
from tests.support.scripted import ScriptedProvider
from triad.errors import (
    AuthenticationFailedError,
    BadRequestError,
    MalformedResponseError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitedError,
)
from triad.providers.base import Completion, CompletionRequest, Provider
from triad.routing.config import RetryPolicy
from triad.routing.retry import Backoff
from triad.routing.router import RoutingFailedError


def down(status: int = 503) -> ProviderUnavailableError:
    return ProviderUnavailableError(f"HTTP {status}", status_code=status)


async def test_503_503_200_is_three_calls_and_two_jittered_sleeps() -> None:
    primary = ScriptedProvider(down(), down(), "fine")
    router, time = make_router({OPENAI: primary}, rng=lambda: 0.5)
    routed = await router.route(KEY, REQUEST)
    assert routed.completion.text == "fine" and routed.model_id == OPENAI
    assert len(primary.history) == 3
    assert time.sleeps == [0.125, 0.25]  # half of base*2^0 and of base*2^1
    [attempt] = routed.attempts
    assert attempt.outcome == "ok" and attempt.retry_count == 2
    assert attempt.latency_ms == pytest.approx(375.0)


async def test_every_wait_is_within_the_full_jitter_bounds() -> None:
    config = routing(retry={"max_attempts": 6, "base_s": 0.5, "cap_s": 3})
    primary = ScriptedProvider(*[down()] * 5, "fine")
    router, time = make_router({OPENAI: primary}, config, rng=random.Random(7).random)
    await router.route(KEY, REQUEST)
    ceilings = [0.5, 1.0, 2.0, 3.0, 3.0]
    assert len(time.sleeps) == 5
    assert all(0 <= slept <= top for slept, top in zip(time.sleeps, ceilings, strict=True))
    assert len(set(time.sleeps)) == 5, "full jitter: the waits are random, not fixed steps"


def test_backoff_ceiling_doubles_up_to_the_cap() -> None:
    backoff = Backoff(RetryPolicy(max_attempts=10, base_s=0.25, cap_s=1.5), rng=lambda: 1.0)
    assert [backoff.ceiling(n) for n in range(5)] == [0.25, 0.5, 1.0, 1.5, 1.5]


async def test_retry_after_is_honoured_exactly() -> None:
    primary = ScriptedProvider(RateLimitedError("slow down", retry_after=2.0), "fine")
    router, time = make_router({OPENAI: primary}, rng=lambda: 0.0)
    routed = await router.route(KEY, REQUEST)
    assert time.sleeps == [2.0]
    assert len(primary.history) == 2 and routed.attempts[0].retry_count == 1


async def test_retry_after_beyond_the_deadline_moves_on_without_sleeping() -> None:
    config = routing(retry={"deadline_s": 5, "cap_s": 60})
    primary = ScriptedProvider(RateLimitedError("slow down", retry_after=30.0))
    backup = ScriptedProvider("from the backup")
    router, time = make_router({OPENAI: primary, LOCAL: backup}, config)
    routed = await router.route(KEY, REQUEST)
    assert time.sleeps == []
    assert len(primary.history) == 1 and routed.model_id == LOCAL
    first = routed.attempts[0]
    assert first.outcome == "error" and first.error_type == "RateLimitedError"
    assert "Retry-After 30s does not fit" in first.reason


async def test_retry_after_above_the_cap_moves_on_too() -> None:
    primary = ScriptedProvider(RateLimitedError("slow down", retry_after=20.0))
    router, time = make_router({OPENAI: primary, LOCAL: ScriptedProvider("ok")})
    routed = await router.route(KEY, REQUEST)
    assert time.sleeps == [] and routed.model_id == LOCAL
    assert "above the 8s cap" in routed.attempts[0].reason


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationFailedError("HTTP 401", status_code=401),
        BadRequestError("HTTP 400", status_code=400),
    ],
)
async def test_non_retryable_errors_are_not_retried(error: Exception) -> None:
    primary = ScriptedProvider(error, "never reached")
    router, time = make_router({OPENAI: primary, LOCAL: ScriptedProvider("ok")})
    routed = await router.route(KEY, REQUEST)
    assert len(primary.history) == 1 and time.sleeps == []
    assert routed.model_id == LOCAL
    assert routed.attempts[0].retry_count == 0
    assert routed.attempts[0].error_type == type(error).__name__
    assert "is not retried" in routed.attempts[0].reason


@pytest.mark.parametrize(
    "error", [ProviderTimeoutError("slow"), MalformedResponseError("<html>"), down(500)]
)
async def test_timeouts_malformed_bodies_and_5xx_are_retried(error: Exception) -> None:
    primary = ScriptedProvider(error, "fine")
    router, _ = make_router({OPENAI: primary})
    routed = await router.route(KEY, REQUEST)
    assert len(primary.history) == 2 and routed.attempts[0].retry_count == 1


async def test_max_attempts_per_model_then_the_next_model() -> None:
    primary = ScriptedProvider(down())
    router, time = make_router({OPENAI: primary, LOCAL: ScriptedProvider("ok")})
    routed = await router.route(KEY, REQUEST)
    assert len(primary.history) == 3 and len(time.sleeps) == 2
    assert [a.outcome for a in routed.attempts] == ["error", "ok"]
    assert routed.attempts[0].retry_count == 2
    assert "3 calls made" in routed.attempts[0].reason


class Slow(Provider):
    """Each call takes `seconds` on the fake clock, then fails with a 503."""

    kind = "slow"

    def __init__(self, time: FakeTime, seconds: float) -> None:
        super().__init__(model="slow")
        self.time, self.seconds, self.calls = time, seconds, 0

    async def complete(self, request: CompletionRequest) -> Completion:
        self.calls += 1
        self.time.advance(self.seconds)
        raise down()


async def test_the_deadline_caps_the_whole_request() -> None:
    time = FakeTime()
    slow = Slow(time, 0.6)
    backup = ScriptedProvider("too late")
    config = routing(retry={"deadline_s": 1.0, "max_attempts": 5})
    router, _ = make_router({OPENAI: slow, LOCAL: backup}, config, time=time)
    with pytest.raises(RoutingFailedError) as caught:
        await router.route(KEY, REQUEST)
    # 0.6 s call, 0.25 s wait, 0.6 s call: the deadline (1 s) has passed; no third call.
    assert slow.calls == 2 and time.sleeps == [0.25]
    assert backup.history == []
    first, second = caught.value.records
    assert first.retry_count == 1 and "does not fit" in first.reason
    assert second.model_id == LOCAL and second.error_type == "DeadlineExceeded"


async def test_each_call_gets_only_the_time_left() -> None:
    time = FakeTime()
    seen: list[float] = []

    def answer(request: CompletionRequest) -> str:
        seen.append(request.timeout_s)
        return "ok"

    config = routing(retry={"deadline_s": 10})
    router, _ = make_router({OPENAI: ScriptedProvider(answer)}, config, time=time)
    await router.route(KEY, REQUEST)  # the request allows 30 s per call
    await router.route(KEY, REQUEST, deadline_s=4)
    assert seen == [10, 4]
