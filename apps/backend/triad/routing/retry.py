"""When to try the same model again, and after how long: full-jitter backoff under a deadline.

This module only decides; the one retry loop lives in `Router`. Only errors marked `retryable`
(429, 5xx, timeouts, connection failures, malformed bodies) are retried. The wait before retry
n (0-based) is uniform in [0, min(cap, base * 2**n)] ("full jitter"), unless the provider sent
Retry-After, which is honoured exactly. A wait that would end past the request's deadline, or a
Retry-After longer than `cap_s`, is not slept: the router moves on to the next model instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from triad.errors import ProviderError, RateLimitedError
from triad.routing.config import RetryPolicy


@dataclass(frozen=True)
class RetryDecision:
    """`delay_s` None: stop trying this model; `why` explains either way."""

    delay_s: float | None
    why: str


class Backoff:
    """The retry policy with its source of randomness (injected, so tests know every wait)."""

    def __init__(self, policy: RetryPolicy, rng: Callable[[], float]) -> None:
        self.policy = policy
        self._rng = rng
        self._models: dict[str, Backoff] = {}

    def for_model(self, model_id: str) -> Backoff:
        """The backoff of one model: the policy with that model's own settings."""
        if model_id not in self._models:
            own = self.policy.for_model(model_id)
            self._models[model_id] = self if own is self.policy else Backoff(own, self._rng)
        return self._models[model_id]

    def ceiling(self, retry: int) -> float:
        """The longest wait before retry `retry` (0-based)."""
        return min(self.policy.cap_s, self.policy.base_s * 2.0**retry)

    def decide(self, error: ProviderError, retry: int, remaining_s: float) -> RetryDecision:
        """Whether to make retry number `retry` (0-based) after `error`, `remaining_s` before
        the deadline."""
        if not error.retryable:
            return RetryDecision(None, f"{type(error).__name__} is not retried")
        if retry + 1 >= self.policy.max_attempts:
            return RetryDecision(None, f"{self.policy.max_attempts} calls made")
        retry_after = error.retry_after if isinstance(error, RateLimitedError) else None
        if retry_after is not None:
            if retry_after > self.policy.cap_s:
                return RetryDecision(
                    None, f"Retry-After {retry_after:g}s is above the {self.policy.cap_s:g}s cap"
                )
            delay, source = retry_after, f"Retry-After {retry_after:g}s"
        else:
            delay = self._rng() * self.ceiling(retry)
            source = f"backoff {delay:.3f}s"
        if delay >= remaining_s:
            return RetryDecision(
                None, f"{source} does not fit in the {remaining_s:.3f}s left before the deadline"
            )
        return RetryDecision(delay, source)
