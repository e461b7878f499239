"""Shared builders for the router tests: a fake clock, the real registry, scripted models."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from triad.errors import MissingCredentialError
from triad.providers.base import ChatMessage, CompletionRequest, Provider
from triad.providers.registry import ModelRegistry
from triad.routing.config import RoutingConfig
from triad.routing.router import Router
from triad.routing.types import BudgetGuard, ResponseCache, RouteKey
from triad.settings import Settings

REGISTRY = ModelRegistry.from_yaml(Settings().models_config, environ={})

# Real registry ids by tier: premium, standard (two), local (two).
PREMIUM = "xai:grok-2-latest"
OPENAI = "openai:gpt-4o-mini"
ANTHROPIC = "anthropic:claude-haiku-4-5"
LOCAL = "local:smollm2-135m"
EXTRACTIVE = "extractive:passages"

KEY = RouteKey(task_type="qa", priority="medium")
REQUEST = CompletionRequest(messages=[ChatMessage(role="user", content="hello?")], timeout_s=30)
ONE_FAILURE_OPENS = {"min_calls": 1, "open_s": 300, "max_open_s": 300, "probes": 1}
"""A breaker that opens on its first failure for 300 s and closes on one good probe."""


@dataclass
class FakeTime:
    """A clock that only moves when told to or when the router sleeps; sleeps are recorded."""

    now: float = 1_000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


def routing(**overrides: Any) -> RoutingConfig:
    """A config whose default route is [OPENAI, LOCAL] at every priority, plus `overrides`."""
    raw: dict[str, Any] = {
        "routes": {"default": {p: [OPENAI, LOCAL] for p in ("low", "medium", "high")}},
        "retry": {"max_attempts": 3, "base_s": 0.25, "cap_s": 8, "deadline_s": 60},
    }
    raw.update(overrides)
    return RoutingConfig.model_validate(raw)


def provider_for(providers: Mapping[str, Provider]) -> Callable[[str], Provider]:
    """Scripted models by id; any other registry id behaves as if its key were unset."""

    def build(model_id: str) -> Provider:
        REGISTRY.get(model_id)
        if model_id not in providers:
            raise MissingCredentialError("TEST_KEY_UNSET", model_id)
        return providers[model_id]

    return build


def make_router(
    providers: Mapping[str, Provider],
    config: RoutingConfig | None = None,
    *,
    time: FakeTime | None = None,
    rng: Callable[[], float] = lambda: 1.0,
    budget: BudgetGuard | None = None,
    cache: ResponseCache | None = None,
) -> tuple[Router, FakeTime]:
    fake = time or FakeTime()
    router = Router(
        config or routing(),
        REGISTRY,
        provider_for(providers),
        budget=budget,
        cache=cache,
        clock=fake.clock,
        sleep=fake.sleep,
        rng=rng,
    )
    return router, fake
