"""Live health per model: EWMA, p95 and error rate over a window bounded in size and age."""

from __future__ import annotations

from tests.routing.helpers import FakeTime
from triad.routing.config import HealthPolicy
from triad.routing.health import ModelHealth


def test_ewma_p95_and_error_rate() -> None:
    health = ModelHealth(HealthPolicy(ewma_alpha=0.5, min_samples=1), FakeTime().clock)
    for latency in range(1, 21):
        health.record(True, float(latency))
    assert health.p95_ms == 19.0  # nearest rank: the 19th of 20
    assert health.ewma_ms is not None and 19.0 < health.ewma_ms < 20.0
    health.record(False, 5.0)
    assert health.error_rate == 1 / 21 and health.samples == 21
    ok, why = health.verdict()
    assert ok and why == "healthy; p95 19ms, ewma 19ms; error rate 5%"


def test_the_window_is_bounded_in_size_and_in_age() -> None:
    time = FakeTime()
    health = ModelHealth(HealthPolicy(window=3, window_s=60, min_samples=1), time.clock)
    health.record(False, 1.0)
    for latency in (10.0, 20.0, 30.0):
        health.record(True, latency)
    assert health.samples == 3 and health.error_rate == 0.0  # the failure fell out
    time.advance(30)
    health.record(False, 1.0)
    assert health.samples == 3 and health.p95_ms == 30.0  # 10 ms fell out
    time.advance(31)  # the three old successes are past 60 s; the failure is not
    assert health.samples == 1 and health.error_rate == 1.0 and health.p95_ms is None
    assert health.verdict() == (
        False,
        "unhealthy: error rate 100% over 1 calls; no successful call",
    )
