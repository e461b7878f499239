"""A circuit breaker per model, so a failing provider is skipped at no cost until it recovers.

Closed: failures are counted in a sliding window; MORE than `failures` inside `window_s` opens
it. Open: every call is refused without an upstream request for `cooldown_s`. Then exactly one
caller gets a probe (half-open) while the others keep being refused; the probe's success closes
the breaker, its failure opens it for another cool-down. Only provider-side failures count
(5xx, 429, timeouts, connection and malformed-body errors, rejected credentials): a bad request
or a content refusal says nothing about the provider's health, and a probe that ends that way
closes the breaker, since the provider answered.

Hand-written rather than taken from `pybreaker`/`aiobreaker`: those count consecutive failures
(not a sliding window), let every caller through when half-open, and read the wall clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from enum import Enum

from triad.routing.config import BreakerPolicy

State = str  # "closed" | "open" | "half_open", the names `triad.metrics.set_circuit` takes


class Permit(Enum):
    """What `acquire` granted: an ordinary call or the single half-open probe."""

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
        self._policy = policy
        self._clock = clock
        self._on_change = on_change
        self._failures: deque[float] = deque()
        self._opened_at = 0.0
        self._probing = False
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
        """Seconds until an open breaker lets its probe through (0 when not open)."""
        if self.state != "open":
            return 0.0
        return max(0.0, self._opened_at + self._policy.cooldown_s - self._clock())

    def acquire(self) -> Permit | None:
        """A permit to call the model, or None: skip it (no upstream request)."""
        if self.state == "open":
            if self.reopens_in_s > 0:
                return None
            self._move("half_open")
        if self.state == "half_open":
            if self._probing:
                return None
            self._probing = True
            return Permit.PROBE
        return Permit.CALL

    def success(self, permit: Permit) -> None:
        """The model answered (or rejected the request itself, which proves it is up)."""
        if permit is Permit.PROBE:
            self._probing = False
            self._failures.clear()
            self._move("closed")

    def failure(self, permit: Permit) -> None:
        """A provider-side failure."""
        now = self._clock()
        if permit is Permit.PROBE:
            self._probing = False
            self._open(now)
            return
        if self.state != "closed":
            return
        self._failures.append(now)
        while self._failures and self._failures[0] <= now - self._policy.window_s:
            self._failures.popleft()
        if len(self._failures) > self._policy.failures:
            self._open(now)

    def failure_after_start(self) -> None:
        """A provider failure after the call's permit was settled (a stream that broke after
        its first token): counted like any failure while closed."""
        self.failure(Permit.CALL)

    def release(self, permit: Permit) -> None:
        """The call was abandoned (cancelled) before it proved anything: free the probe slot."""
        if permit is Permit.PROBE:
            self._probing = False

    def _open(self, now: float) -> None:
        self._opened_at = now
        self._failures.clear()
        self._move("open")


class Breakers:
    """The breakers of every model, created on first use with one policy."""

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
                model_id, self._policy, clock=self._clock, on_change=self._on_change
            )
        return self._breakers[model_id]
