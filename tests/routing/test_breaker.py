"""Circuit breakers: open after more than N failures in a window, skip at no cost, one probe."""

from __future__ import annotations

import asyncio

from tests.routing.helpers import KEY, LOCAL, OPENAI, REQUEST, FakeTime, make_router, routing
from tests.support.scripted import ScriptedProvider
from triad.errors import BadRequestError, ProviderUnavailableError
from triad.metrics import REGISTRY
from triad.routing.breaker import CircuitBreaker, Permit
from triad.routing.config import BreakerPolicy

POLICY = BreakerPolicy(failures=5, window_s=60, cooldown_s=300)


def breaker(time: FakeTime, model_id: str = "test:breaker") -> tuple[CircuitBreaker, list[str]]:
    changes: list[str] = []
    return CircuitBreaker(
        model_id, POLICY, clock=time.clock, on_change=lambda _, state: changes.append(state)
    ), changes


def fail(b: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        permit = b.acquire()
        assert permit is Permit.CALL
        b.failure(permit)


def test_more_than_five_failures_in_a_minute_open_it() -> None:
    time = FakeTime()
    b, changes = breaker(time)
    fail(b, 5)
    assert b.state == "closed" and b.acquire() is Permit.CALL
    fail(b, 1)
    assert b.state == "open" and changes == ["closed", "open"]
    assert b.acquire() is None


def test_failures_older_than_the_window_do_not_count() -> None:
    time = FakeTime()
    b, _ = breaker(time)
    fail(b, 5)
    time.advance(61)
    fail(b, 5)
    assert b.state == "closed"


def test_after_the_cool_down_one_probe_and_success_closes() -> None:
    time = FakeTime()
    b, changes = breaker(time)
    fail(b, 6)
    time.advance(299)
    assert b.acquire() is None and round(b.reopens_in_s) == 1
    time.advance(1)
    probe = b.acquire()
    assert probe is Permit.PROBE and b.state == "half_open"
    assert b.acquire() is None, "concurrent callers skip while the probe is out"
    b.success(probe)
    assert b.state == "closed" and b.acquire() is Permit.CALL
    assert changes == ["closed", "open", "half_open", "closed"]


def test_a_failed_probe_reopens_for_a_full_cool_down() -> None:
    time = FakeTime()
    b, changes = breaker(time)
    fail(b, 6)
    time.advance(300)
    probe = b.acquire()
    assert probe is Permit.PROBE
    b.failure(probe)
    assert b.state == "open" and b.reopens_in_s == 300
    assert changes[-2:] == ["half_open", "open"]


def test_an_abandoned_probe_frees_the_slot() -> None:
    time = FakeTime()
    b, _ = breaker(time)
    fail(b, 6)
    time.advance(300)
    probe = b.acquire()
    assert probe is Permit.PROBE
    b.release(probe)
    assert b.acquire() is Permit.PROBE


def test_state_changes_reach_the_metrics_gauge() -> None:
    time = FakeTime()
    router, _ = make_router({}, routing(breaker={"failures": 0}), time=time)
    b = router.breakers["test:gauge"]

    def gauge() -> float | None:
        return REGISTRY.get_sample_value("triad_circuit_state", {"model": "test:gauge"})

    assert gauge() == 0
    fail(b, 1)
    assert gauge() == 2
    time.advance(300)
    assert b.acquire() is Permit.PROBE and gauge() == 1


async def test_an_open_breaker_skips_the_model_at_no_cost_then_probes() -> None:
    config = routing(breaker={"failures": 2, "window_s": 60, "cooldown_s": 300})
    config = config.model_copy(
        update={"retry": config.retry.model_copy(update={"max_attempts": 1})}
    )
    primary = ScriptedProvider(ProviderUnavailableError("down"))
    backup = ScriptedProvider("backup")
    router, time = make_router({OPENAI: primary, LOCAL: backup}, config)
    for _ in range(3):  # three failures: more than two, so it opens
        assert (await router.route(KEY, REQUEST)).model_id == LOCAL
    assert len(primary.history) == 3 and router.breakers[OPENAI].state == "open"

    routed = await router.route(KEY, REQUEST)
    assert len(primary.history) == 3, "no upstream request while open"
    skipped = routed.attempts[0]
    assert skipped.outcome == "skipped_breaker" and skipped.latency_ms == 0
    assert "next probe in 300s" in (skipped.error or "")

    time.advance(300)
    primary.queue = ["recovered"]
    routed = await router.route(KEY, REQUEST)
    assert routed.model_id == OPENAI and len(primary.history) == 4
    assert router.breakers[OPENAI].state == "closed"


async def test_a_failing_probe_is_one_call_and_reopens() -> None:
    config = routing(breaker={"failures": 0})
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
    config = routing(breaker={"failures": 0})
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
    config = routing(breaker={"failures": 0})
    primary = ScriptedProvider(BadRequestError("HTTP 400", status_code=400))
    router, _ = make_router({OPENAI: primary, LOCAL: ScriptedProvider("backup")}, config)
    for _ in range(3):
        await router.route(KEY, REQUEST)
    assert len(primary.history) == 3 and router.breakers[OPENAI].state == "closed"
