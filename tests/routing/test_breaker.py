"""Circuit breakers: open on a failure ratio over a window, skip at no cost, probe, close."""

from __future__ import annotations

import asyncio

import pytest

from tests.routing.helpers import (
    KEY,
    LOCAL,
    ONE_FAILURE_OPENS,
    OPENAI,
    REGISTRY,
    REQUEST,
    FakeTime,
    make_router,
    routing,
)
from tests.support.scripted import ScriptedProvider
from triad.errors import BadRequestError, ProviderUnavailableError, UnknownModelError
from triad.metrics import REGISTRY as METRICS
from triad.routing.breaker import Breakers, CircuitBreaker, Permit
from triad.routing.config import BreakerPolicy

POLICY = BreakerPolicy(
    window_s=30, min_calls=10, failure_ratio=0.5, open_s=5, max_open_s=20, probes=2
)


def breaker(
    time: FakeTime, policy: BreakerPolicy = POLICY, model_id: str = "test:breaker"
) -> tuple[CircuitBreaker, list[str]]:
    changes: list[str] = []
    return CircuitBreaker(
        model_id, policy, clock=time.clock, on_change=lambda _, state: changes.append(state)
    ), changes


def call(b: CircuitBreaker, ok: bool) -> None:
    permit = b.acquire()
    assert permit is Permit.CALL
    if ok:
        b.success(permit)
    else:
        b.failure(permit)


def fail(b: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        call(b, ok=False)


def trip(b: CircuitBreaker, time: FakeTime) -> None:
    fail(b, POLICY.min_calls)
    assert b.state == "open"


def test_a_steady_30_percent_error_rate_never_opens_it() -> None:
    """The old breaker opened after 5 failures in a minute: here 300 failures do not."""
    time = FakeTime()
    b, changes = breaker(time)
    for n in range(1000):
        call(b, ok=n % 10 not in (0, 3, 6))  # 30% failures, up to 2 of them in a row
        time.advance(0.05)
    assert b.state == "closed" and changes == ["closed"]
    assert b.failure_ratio == pytest.approx(0.3, abs=0.01)


def test_it_opens_when_the_ratio_is_reached_with_enough_calls() -> None:
    time = FakeTime()
    b, changes = breaker(time)
    fail(b, POLICY.min_calls - 1)
    assert b.state == "closed", "nine failures are too few calls to judge"
    call(b, ok=False)
    assert b.state == "open" and changes == ["closed", "open"]
    assert b.acquire() is None and b.reopens_in_s == 5


def test_the_ratio_is_of_all_the_windows_calls() -> None:
    time = FakeTime()
    b, _ = breaker(time)
    for _ in range(6):
        call(b, ok=True)
    fail(b, 5)
    assert b.state == "closed" and b.window_calls == 11  # 5 of 11 is below one half
    fail(b, 1)
    assert b.state == "open"  # 6 of 12


def test_calls_older_than_the_window_are_forgotten() -> None:
    time = FakeTime()
    b, _ = breaker(time)
    fail(b, 9)
    time.advance(31)
    assert b.window_calls == 0
    fail(b, 9)
    assert b.state == "closed"


def test_after_the_open_period_probes_go_through_and_close_it() -> None:
    time = FakeTime()
    b, changes = breaker(time)
    trip(b, time)
    time.advance(4)
    assert b.acquire() is None and round(b.reopens_in_s) == 1
    time.advance(1)
    first, second = b.acquire(), b.acquire()
    assert first is Permit.PROBE and second is Permit.PROBE and b.state == "half_open"
    assert b.acquire() is None, "callers beyond the probes are still refused"
    b.success(first)
    assert b.state == "half_open" and b.acquire() is None
    b.success(second)
    assert b.state == "closed" and b.acquire() is Permit.CALL and b.window_calls == 0
    assert changes == ["closed", "open", "half_open", "closed"]


def test_a_failed_probe_reopens_for_twice_as_long_up_to_the_cap() -> None:
    time = FakeTime()
    b, changes = breaker(time)
    trip(b, time)
    for expected in (10, 20, 20):
        time.advance(b.reopens_in_s)
        probe = b.acquire()
        assert probe is Permit.PROBE
        b.failure(probe)
        assert b.state == "open" and b.reopens_in_s == expected
    assert changes[-2:] == ["half_open", "open"]
    time.advance(20)
    for _ in range(POLICY.probes):
        permit = b.acquire()
        assert permit is Permit.PROBE
        b.success(permit)
    assert b.state == "closed"
    trip(b, time)
    assert b.reopens_in_s == 5, "closing resets the open period"


def test_an_abandoned_probe_frees_its_slot() -> None:
    time = FakeTime()
    b, _ = breaker(time, POLICY.model_copy(update={"probes": 1}))
    trip(b, time)
    time.advance(5)
    probe = b.acquire()
    assert probe is Permit.PROBE and b.acquire() is None
    b.release(probe)
    assert b.acquire() is Permit.PROBE


def test_a_disabled_breaker_never_opens() -> None:
    time = FakeTime()
    b, _ = breaker(time, POLICY.model_copy(update={"enabled": False}))
    fail(b, 100)
    assert b.state == "closed" and b.acquire() is Permit.CALL


def test_each_model_gets_its_own_settings() -> None:
    config = routing(breaker={"open_s": 2, "models": {LOCAL: {"open_s": 30, "min_calls": 1}}})
    breakers = Breakers(config.breaker, clock=FakeTime().clock)
    assert breakers[OPENAI].policy.open_s == 2 and breakers[OPENAI].policy.min_calls == 20
    assert breakers[LOCAL].policy.open_s == 30 and breakers[LOCAL].policy.min_calls == 1
    assert breakers[LOCAL].policy.failure_ratio == 0.5, "unset fields keep the default"


def test_a_per_model_setting_names_a_registry_model() -> None:
    config = routing(breaker={"models": {"openai:gpt-17": {"open_s": 1}}})
    with pytest.raises(UnknownModelError, match="openai:gpt-17"):
        config.check_models(REGISTRY)


def test_state_changes_reach_the_metrics_gauge() -> None:
    time = FakeTime()
    router, _ = make_router({}, routing(breaker=ONE_FAILURE_OPENS), time=time)
    b = router.breakers["test:gauge"]

    def gauge() -> float | None:
        return METRICS.get_sample_value("triad_circuit_state", {"model": "test:gauge"})

    assert gauge() == 0
    fail(b, 1)
    assert gauge() == 2
    time.advance(300)
    assert b.acquire() is Permit.PROBE and gauge() == 1


async def test_an_open_breaker_skips_the_model_at_no_cost_then_probes() -> None:
    config = routing(breaker={"min_calls": 3, "open_s": 5, "probes": 1}, retry={"max_attempts": 1})
    primary = ScriptedProvider(ProviderUnavailableError("down"))
    backup = ScriptedProvider("backup")
    router, time = make_router({OPENAI: primary, LOCAL: backup}, config)
    for _ in range(3):  # three failures of three calls: it opens
        assert (await router.route(KEY, REQUEST)).model_id == LOCAL
    assert len(primary.history) == 3 and router.breakers[OPENAI].state == "open"

    routed = await router.route(KEY, REQUEST)
    assert len(primary.history) == 3, "no upstream request while open"
    skipped = routed.attempts[0]
    assert skipped.outcome == "skipped_breaker" and skipped.latency_ms == 0
    assert "next probe in 5s" in (skipped.error or "")

    time.advance(5)
    primary.queue = ["recovered"]
    routed = await router.route(KEY, REQUEST)
    assert routed.model_id == OPENAI and len(primary.history) == 4
    assert router.breakers[OPENAI].state == "closed"


async def test_a_failing_probe_is_one_call_and_reopens() -> None:
    config = routing(breaker=ONE_FAILURE_OPENS)
    primary = ScriptedProvider(ProviderUnavailableError("down"))
    router, time = make_router({OPENAI: primary, LOCAL: ScriptedProvider("backup")}, config)
    await router.route(KEY, REQUEST)
    assert len(primary.history) == 1, "the breaker opened on the first failure: no retry"
    time.advance(300)
    routed = await router.route(KEY, REQUEST)
    assert len(primary.history) == 2 and router.breakers[OPENAI].state == "open"
    assert routed.attempts[0].retry_count == 0
    assert "the circuit opened" in routed.attempts[0].reason
    await router.route(KEY, REQUEST)
    assert len(primary.history) == 2


async def test_concurrent_callers_skip_the_model_while_its_probe_is_out() -> None:
    config = routing(breaker=ONE_FAILURE_OPENS)
    primary = ScriptedProvider(ProviderUnavailableError("down"))
    backup = ScriptedProvider("backup")
    router, time = make_router({OPENAI: primary, LOCAL: backup}, config)
    await router.route(KEY, REQUEST)
    time.advance(300)
    primary.queue = ["recovered"]
    primary.gate = asyncio.Event()
    primary.started.clear()
    probe = asyncio.create_task(router.route(KEY, REQUEST))
    await primary.started.wait()
    other = await router.route(KEY, REQUEST)
    assert other.model_id == LOCAL and other.attempts[0].outcome == "skipped_breaker"
    primary.gate.set()
    assert (await probe).model_id == OPENAI
    assert len(primary.history) == 2 and router.breakers[OPENAI].state == "closed"


async def test_bad_requests_do_not_open_it() -> None:
    config = routing(breaker=ONE_FAILURE_OPENS)
    primary = ScriptedProvider(BadRequestError("HTTP 400", status_code=400))
    router, _ = make_router({OPENAI: primary, LOCAL: ScriptedProvider("backup")}, config)
    for _ in range(3):
        await router.route(KEY, REQUEST)
    assert len(primary.history) == 3 and router.breakers[OPENAI].state == "closed"


async def test_a_flaky_model_keeps_answering_through_its_retries() -> None:
    """30% of calls fail: with the shipped breaker settings every request still gets its
    answer from the model itself and the backup is never needed."""
    down = ProviderUnavailableError("HTTP 500")
    pattern = ["ok" if n % 10 not in (0, 3, 6) else down for n in range(300)]
    primary = ScriptedProvider(*pattern, "ok")
    backup = ScriptedProvider("backup")
    router, time = make_router({OPENAI: primary, LOCAL: backup}, routing(breaker={}))
    answered = []
    for _ in range(200):
        answered.append((await router.route(KEY, REQUEST)).model_id)
        time.advance(0.1)
    assert answered == [OPENAI] * 200 and not backup.history
    assert router.breakers[OPENAI].state == "closed"
