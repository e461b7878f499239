"""The shapes routing shares with its callers and with its guards (budgets, cache, metrics).

The router itself is a callable of the same shape as a provider: a `CompletionRequest` in,
a completion out, plus the trail of attempts that the caller records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from triad.providers.base import Completion, CompletionRequest

Priority = Literal["low", "medium", "high"]
Outcome = Literal[
    "ok",
    "error",
    "skipped_key",  # the model's key variable is unset
    "skipped_breaker",  # its circuit breaker is open: skipped at no cost
    "skipped_budget",  # a budget or per-request cap ruled it out
    "cache_hit",
]


@dataclass(frozen=True)
class RouteKey:
    """What a call is for: routing, budgets, cache scope and metrics all read it."""

    task_type: str
    priority: Priority = "medium"
    agent: str | None = None
    role: str | None = None
    user_id: str | None = None
    prompt_version: str | None = None
    knowledge_version: int | None = None


@dataclass
class AttemptRecord:
    """One model tried (or skipped) for one call; becomes one `provider_calls` row."""

    model_id: str
    position: int
    outcome: Outcome
    latency_ms: float = 0.0
    retry_count: int = 0
    error_type: str | None = None
    error: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    tokens_estimated: bool = False
    cost_usd: float = 0.0
    reason: str = ""


@dataclass
class RoutedCompletion:
    """The answer and how it was obtained."""

    completion: Completion
    model_id: str
    attempts: list[AttemptRecord] = field(default_factory=list)
    degraded: bool = False
    cached: bool = False
    reason: str = ""


@dataclass(frozen=True)
class BudgetDecision:
    """A guard's verdict on one model for one call."""

    allowed: bool
    reason: str = ""
    budget: str | None = None  # the budget's name, for a 429/422 that names it
    status_code: int = 429


class BudgetGuard(Protocol):
    """Consulted before each model is tried; refusing moves the router to a cheaper model."""

    async def check(
        self, key: RouteKey, model_id: str, request: CompletionRequest
    ) -> BudgetDecision: ...


class ResponseCache(Protocol):
    """Exact then semantic lookup; `store` only for answers that are safe to reuse."""

    async def lookup(self, key: RouteKey, request: CompletionRequest) -> Completion | None: ...

    async def store(
        self, key: RouteKey, request: CompletionRequest, routed: RoutedCompletion
    ) -> None: ...
