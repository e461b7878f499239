"""Live health per model: latency EWMA and p95 over a bounded window, and the error rate.

The rule the router applies (see `HealthPolicy`): a model is unhealthy when its window holds at
least `min_samples` calls and either its error rate reaches `max_error_rate` or, when set, its
p95 latency exceeds `max_p95_ms`. Unhealthy models keep their place among themselves but move
behind the healthy ones of the same route; they are never skipped (the breaker does that). The
window forgets calls older than `window_s`, so a demoted model that gets no traffic recovers.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from triad.routing.config import HealthPolicy


@dataclass(frozen=True)
class Sample:
    at: float
    ok: bool
    latency_ms: float


class ModelHealth:
    """One model's recent calls; `ok=False` only for provider-side failures.

    The error count and a sorted list of the successful latencies are kept incrementally, so a
    verdict on every routed call costs no scan of the window.
    """

    def __init__(self, policy: HealthPolicy, clock: Callable[[], float]) -> None:
        self._policy = policy
        self._clock = clock
        self._samples: deque[Sample] = deque()
        self._errors = 0
        self._latencies: list[float] = []  # successful calls in the window, sorted
        self.ewma_ms: float | None = None

    def record(self, ok: bool, latency_ms: float) -> None:
        if len(self._samples) >= self._policy.window:
            self._drop_oldest()
        self._samples.append(Sample(self._clock(), ok, latency_ms))
        if ok:
            bisect.insort(self._latencies, latency_ms)
            alpha = self._policy.ewma_alpha
            previous = self.ewma_ms
            self.ewma_ms = (
                latency_ms if previous is None else alpha * latency_ms + (1 - alpha) * previous
            )
        else:
            self._errors += 1

    def _drop_oldest(self) -> None:
        oldest = self._samples.popleft()
        if oldest.ok:
            del self._latencies[bisect.bisect_left(self._latencies, oldest.latency_ms)]
        else:
            self._errors -= 1

    def _forget_old(self) -> None:
        horizon = self._clock() - self._policy.window_s
        while self._samples and self._samples[0].at < horizon:
            self._drop_oldest()

    @property
    def samples(self) -> int:
        self._forget_old()
        return len(self._samples)

    @property
    def error_rate(self) -> float:
        self._forget_old()
        return self._errors / len(self._samples) if self._samples else 0.0

    @property
    def p95_ms(self) -> float | None:
        """Nearest-rank p95 of the successful calls in the window."""
        self._forget_old()
        if not self._latencies:
            return None
        return self._latencies[max(0, math.ceil(0.95 * len(self._latencies)) - 1)]

    def verdict(self) -> tuple[bool, str]:
        """Healthy or not, and the words that go into the attempt's `reason`."""
        count = self.samples
        if count < self._policy.min_samples:
            return True, f"healthy ({count} recent calls)"
        errors = self._errors / count
        p95 = self.p95_ms
        latency = "no successful call"
        if p95 is not None and self.ewma_ms is not None:
            latency = f"p95 {p95:.0f}ms, ewma {self.ewma_ms:.0f}ms"
        if errors >= self._policy.max_error_rate:
            return False, f"unhealthy: error rate {errors:.0%} over {count} calls; {latency}"
        limit = self._policy.max_p95_ms
        if limit is not None and p95 is not None and p95 > limit:
            return False, f"unhealthy: p95 {p95:.0f}ms above {limit:.0f}ms"
        return True, f"healthy; {latency}; error rate {errors:.0%}"


class HealthBook:
    """Health of every model the router has called, created on first use."""

    def __init__(self, policy: HealthPolicy, clock: Callable[[], float]) -> None:
        self._policy = policy
        self._clock = clock
        self._models: dict[str, ModelHealth] = {}

    def __getitem__(self, model_id: str) -> ModelHealth:
        if model_id not in self._models:
            self._models[model_id] = ModelHealth(self._policy, self._clock)
        return self._models[model_id]

    def order(self, model_ids: list[str]) -> list[tuple[str, str]]:
        """Healthy models first, unhealthy after, each group in configured order, with why."""
        verdicts = [(model_id, *self[model_id].verdict()) for model_id in model_ids]
        healthy = [(m, why) for m, ok, why in verdicts if ok]
        demoted = [(m, f"demoted, {why}") for m, ok, why in verdicts if not ok]
        return healthy + demoted
