"""A circuit breaker per model, so a provider that is down is skipped at no cost until it recovers.

Closed: every call's outcome goes into a sliding time window of `window_s` seconds. Once the
window holds at least `min_calls` calls and at least `failure_ratio` of them failed, it opens.
A ratio rather than a count: a busy model with a steady 30% error rate is unwell but useful
(its retries and hedges still answer), while a count of failures would trip it on volume.
Open: every call is refused without an upstream request for `open_s` seconds, doubled after
each failed probe round up to `max_open_s`. Half-open: up to `probes` calls go through at once
while the others are still refused; when `probes` of them have succeeded it closes with an
empty window, and any failure opens it again. Only provider-side failures count (5xx, 429,
timeouts, connection and malformed-body errors, rejected credentials): a bad request or a
content refusal says nothing about the provider's health, and counts as a success.

Hand-written rather than taken from `pybreaker`/`aiobreaker`: those count consecutive failures
(not a ratio over a window), let every caller through when half-open, and read the wall clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from enum import Enum

from triad.routing.config import BreakerPolicy

State = str  # "closed" | "open" | "half_open", the names `triad.metrics.set_circuit` takes


class Permit(Enum):
    """What `acquire` granted: an ordinary call or one of the half-open probes."""

    CALL = "call"
    PROBE = "probe"


class CircuitBreaker:
    """One model's breaker; not thread-safe, which an asyncio process does not need."""

    def __init__(
        self,
        model_id: str,
        policy: BreakerPolicy,
        *,
        clock: Callable[[], float],
        on_change: Callable[[str, State], None] | None = None,
    ) -> None:
        self.model_id = model_id
        self.policy = policy
        self._clock = clock
        self._on_change = on_change
        self._calls: deque[tuple[float, bool]] = deque()  # (when, failed), oldest first
        self._failed = 0
        self._opened_at = 0.0
        self._open_for = policy.open_s
        self._probing = 0
        self._probed = 0
        self.state: State = "closed"
        if on_change is not None:
            on_change(model_id, "closed")

    def _move(self, state: State) -> None:
        if state != self.state:
            self.state = state
            if self._on_change is not None:
                self._on_change(self.model_id, state)

    @property
    def reopens_in_s(self) -> float:
        """Seconds until an open breaker lets its probes through (0 when not open)."""
        if self.state != "open":
            return 0.0
        return max(0.0, self._opened_at + self._open_for - self._clock())

    @property
    def failure_ratio(self) -> float:
        """Failed share of the window's calls (0 when it holds none)."""
        self._forget(self._clock())
        return self._failed / len(self._calls) if self._calls else 0.0

    @property
    def window_calls(self) -> int:
        self._forget(self._clock())
        return len(self._calls)

    def acquire(self) -> Permit | None:
        """A permit to call the model, or None: skip it (no upstream request)."""
        if self.state == "open":
            if self.reopens_in_s > 0:
                return None
            self._probing = self._probed = 0
            self._move("half_open")
        if self.state == "half_open":
            if self._probing + self._probed >= self.policy.probes:
                return None
            self._probing += 1
            return Permit.PROBE
        return Permit.CALL

    def success(self, permit: Permit) -> None:
        """The model answered (or rejected the request itself, which proves it is up)."""
        if permit is Permit.PROBE:
            if self.state != "half_open":
                return
            self._probing = max(0, self._probing - 1)
            self._probed += 1
            if self._probed >= self.policy.probes:
                self._close()
            return
        if self.state == "closed":
            self._record(failed=False)

    def failure(self, permit: Permit) -> None:
        """A provider-side failure."""
        if not self.policy.enabled:
            return
        if permit is Permit.PROBE:
            if self.state == "half_open":
                self._open(longer=True)
            return
        if self.state != "closed":
            return
        self._record(failed=True)
        calls = len(self._calls)
        if calls >= self.policy.min_calls and self._failed >= self.policy.failure_ratio * calls:
            self._open(longer=False)

    def failure_after_start(self) -> None:
        """A provider failure after the call's permit was settled (a stream that broke after
        its first token): counted like any failure while closed."""
        self.failure(Permit.CALL)

    def release(self, permit: Permit) -> None:
        """The call was abandoned (cancelled) before it proved anything: free its probe slot."""
        if permit is Permit.PROBE and self.state == "half_open":
            self._probing = max(0, self._probing - 1)

    def _record(self, *, failed: bool) -> None:
        now = self._clock()
        self._calls.append((now, failed))
        self._failed += failed
        self._forget(now)

    def _forget(self, now: float) -> None:
        horizon = now - self.policy.window_s
        while self._calls and self._calls[0][0] <= horizon:
            self._failed -= self._calls.popleft()[1]

    def _open(self, *, longer: bool) -> None:
        """Open for `open_s`, or (a failed probe round) twice the last period, capped."""
        self._open_for = (
            min(self._open_for * 2, self.policy.max_open_s) if longer else self.policy.open_s
        )
        self._opened_at = self._clock()
        self._calls.clear()
        self._failed = 0
        self._move("open")

    def _close(self) -> None:
        self._open_for = self.policy.open_s
        self._calls.clear()
        self._failed = 0
        self._move("closed")


class Breakers:
    """The breakers of every model, created on first use with that model's policy."""

    def __init__(
        self,
        policy: BreakerPolicy,
        *,
        clock: Callable[[], float],
        on_change: Callable[[str, State], None] | None = None,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._on_change = on_change
        self._breakers: dict[str, CircuitBreaker] = {}

    def __getitem__(self, model_id: str) -> CircuitBreaker:
        if model_id not in self._breakers:
            self._breakers[model_id] = CircuitBreaker(
                model_id,
                self._policy.for_model(model_id),
                clock=self._clock,
                on_change=self._on_change,
            )
        return self._breakers[model_id]
