"""The routing config (`config/routing.yaml`): routes, fallbacks, retry, breaker and health rules.

Validated strictly (`extra="forbid"`) and checked against the model registry at startup, so a
typo or an unknown model id fails when the process starts, not on the first customer turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from triad.config_files import load_yaml_model
from triad.providers.registry import ModelRegistry
from triad.routing.types import Priority, RouteKey

PRIORITIES: tuple[Priority, ...] = ("low", "medium", "high")
TIER_RANK = {"premium": 0, "standard": 1, "local": 2}
"""Lower is better; an answer from a higher rank than the route's first eligible is degraded."""

_Strict = ConfigDict(extra="forbid", frozen=True)


class RetryPolicy(BaseModel):
    """Retries of one model: full-jitter exponential backoff, all of it under one deadline."""

    model_config = _Strict

    max_attempts: int = Field(default=3, ge=1, le=10, description="calls per model, first included")
    base_s: float = Field(default=0.25, gt=0, le=60)
    cap_s: float = Field(default=8.0, gt=0, le=600)
    deadline_s: float = Field(default=60.0, gt=0, le=3600, description="whole request, all models")


class BreakerPolicy(BaseModel):
    """Opens after MORE than `failures` provider failures within `window_s`; probes later."""

    model_config = _Strict

    failures: int = Field(default=5, ge=0, le=10_000)
    window_s: float = Field(default=60.0, gt=0, le=86_400)
    cooldown_s: float = Field(default=300.0, gt=0, le=86_400)


class HealthPolicy(BaseModel):
    """When a model counts as unhealthy, which moves it behind the healthy ones of its route."""

    model_config = _Strict

    ewma_alpha: float = Field(default=0.2, gt=0, le=1)
    window: int = Field(default=100, ge=1, le=10_000, description="calls kept per model")
    window_s: float = Field(default=300.0, gt=0, description="older calls are forgotten")
    min_samples: int = Field(default=5, ge=1)
    max_error_rate: float = Field(default=0.5, gt=0, le=1)
    max_p95_ms: float | None = Field(default=None, gt=0, description="None: latency never demotes")


Route = dict[Priority, list[str]]


class RoutingConfig(BaseModel):
    """Everything the router reads; see config/routing.yaml for the lookup rules."""

    model_config = ConfigDict(extra="forbid")

    routes: dict[str, Route] = Field(min_length=1)
    fallbacks: dict[str, list[str]] = Field(default_factory=dict)
    role_priority: dict[str, Priority] = Field(default_factory=dict)
    retry: RetryPolicy = RetryPolicy()
    breaker: BreakerPolicy = BreakerPolicy()
    health: HealthPolicy = HealthPolicy()
    degraded_disclaimer: str = Field(
        default="(Answered by a backup model; a team member may follow up.)", min_length=1
    )

    @model_validator(mode="after")
    def _default_serves_everything(self) -> RoutingConfig:
        default = self.routes.get("default")
        missing = [p for p in PRIORITIES if not default or not default.get(p)]
        if missing:
            raise ValueError(
                f"routes.default must list models for every priority; missing {missing}"
            )
        for name, route in self.routes.items():
            for priority, ids in route.items():
                if not ids:
                    raise ValueError(f"routes.{name}.{priority} lists no model")
        return self

    def lookup_names(self, key: RouteKey) -> Iterator[str]:
        """Route names, most specific first: `chat.menu.teacher`, `chat.menu`, `chat.teacher`,
        `chat`, `default.teacher`, `default` (the `.<role>` names only when a role is set)."""
        parts = key.task_type.split(".")
        prefixes = [".".join(parts[:n]) for n in range(len(parts), 0, -1)] + ["default"]
        for prefix in prefixes:
            if key.role:
                yield f"{prefix}.{key.role}"
            yield prefix

    def route_for(self, key: RouteKey) -> tuple[str, list[str]]:
        """The first route name that lists models for the key's priority, and those models."""
        for name in self.lookup_names(key):
            models = self.routes.get(name, {}).get(key.priority)
            if models:
                return name, list(models)
        raise AssertionError("unreachable: routes.default covers every priority")

    def priority_for(self, role: str | None, fallback: Priority = "medium") -> Priority:
        return self.role_priority.get(role, fallback) if role else fallback

    def model_ids(self) -> set[str]:
        named = {m for route in self.routes.values() for ids in route.values() for m in ids}
        named |= set(self.fallbacks)
        named |= {m for chain in self.fallbacks.values() for m in chain}
        return named

    def check_models(self, registry: ModelRegistry) -> None:
        """Every id must be in the registry; UnknownModelError names the first that is not."""
        for model_id in sorted(self.model_ids()):
            registry.get(model_id)

    @classmethod
    def from_yaml(cls, path: Path) -> RoutingConfig:
        return load_yaml_model(cls, path, "routing")
