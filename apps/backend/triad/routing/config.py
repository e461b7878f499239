"""The routing config (`config/routing.yaml`): routes, fallbacks, retry, breaker and health rules.

Validated strictly (`extra="forbid"`) and checked against the model registry at startup, so a
typo or an unknown model id fails when the process starts, not on the first customer turn.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from triad.config_files import load_yaml_model
from triad.providers.registry import ModelRegistry
from triad.routing.types import Priority, RouteKey

PRIORITIES: tuple[Priority, ...] = ("low", "medium", "high")
TIER_RANK = {"premium": 0, "standard": 1, "local": 2}
"""Lower is better; an answer from a higher rank than the route's first eligible is degraded."""

_Strict = ConfigDict(extra="forbid", frozen=True)
P = TypeVar("P", bound=BaseModel)


def _with_override(policy: P, override: BaseModel | None) -> P:
    """`policy` with the fields `override` sets, validated (so an override cannot break it)."""
    if override is None:
        return policy
    merged = policy.model_dump(exclude={"models"}) | override.model_dump(exclude_unset=True)
    return type(policy).model_validate(merged)


def _check_overrides(policy: BaseModel, overrides: Mapping[str, BaseModel]) -> None:
    for model_id, override in overrides.items():
        try:
            _with_override(policy, override)
        except ValidationError as exc:
            raise ValueError(f"models.{model_id}: {exc}") from None


class RetryOverride(BaseModel):
    """One model's own retry settings; unset fields keep the policy's (the deadline is the
    request's, so it cannot be set per model)."""

    model_config = _Strict

    max_attempts: int | None = Field(default=None, ge=1, le=10)
    base_s: float | None = Field(default=None, gt=0, le=60)
    cap_s: float | None = Field(default=None, gt=0, le=600)
    hedge_after_s: float | None = Field(default=None, gt=0, le=600)
    hedge_min_s: float | None = Field(default=None, gt=0, le=600)
    max_hedges: int | None = Field(default=None, ge=0, le=5)


class BreakerOverride(BaseModel):
    """One model's own breaker settings; unset fields keep the policy's."""

    model_config = _Strict

    enabled: bool | None = None
    window_s: float | None = Field(default=None, gt=0, le=86_400)
    min_calls: int | None = Field(default=None, ge=1, le=100_000)
    failure_ratio: float | None = Field(default=None, gt=0, le=1)
    open_s: float | None = Field(default=None, gt=0, le=86_400)
    max_open_s: float | None = Field(default=None, gt=0, le=86_400)
    probes: int | None = Field(default=None, ge=1, le=1000)


class RetryPolicy(BaseModel):
    """Retries and hedges of one model: full-jitter exponential backoff after a failure, a
    parallel duplicate of a call that stays silent, all of it under one deadline."""

    model_config = _Strict

    max_attempts: int = Field(
        default=3, ge=1, le=10, description="calls per model after failures, the first included"
    )
    base_s: float = Field(default=0.25, gt=0, le=60)
    cap_s: float = Field(default=8.0, gt=0, le=600)
    deadline_s: float = Field(default=60.0, gt=0, le=3600, description="whole request, all models")
    hedge_after_s: float | None = Field(
        default=None,
        gt=0,
        le=600,
        description="a call without an answer this long gets a parallel duplicate; None: never",
    )
    hedge_min_s: float = Field(
        default=0.5,
        gt=0,
        le=600,
        description="the earliest hedge: once the model has a recent p95, the hedge comes at "
        "twice that p95, within hedge_min_s..hedge_after_s",
    )
    max_hedges: int = Field(
        default=1, ge=0, le=5, description="parallel duplicates per model call, beyond attempts"
    )
    models: dict[str, RetryOverride] = Field(default_factory=dict)

    def for_model(self, model_id: str) -> RetryPolicy:
        """This policy with `model_id`'s own settings applied."""
        return _with_override(self, self.models.get(model_id))

    @model_validator(mode="after")
    def _overrides_are_valid(self) -> Self:
        _check_overrides(self, self.models)
        return self


class BreakerPolicy(BaseModel):
    """Opens when at least `failure_ratio` of the last `window_s` seconds' calls failed, once
    they number `min_calls`; stays open `open_s` (doubling after each failed probe round, up to
    `max_open_s`), then lets `probes` calls through and closes when they all succeed."""

    model_config = _Strict

    enabled: bool = True
    window_s: float = Field(default=30.0, gt=0, le=86_400)
    min_calls: int = Field(default=20, ge=1, le=100_000)
    failure_ratio: float = Field(default=0.5, gt=0, le=1)
    open_s: float = Field(default=5.0, gt=0, le=86_400)
    max_open_s: float = Field(default=60.0, gt=0, le=86_400)
    probes: int = Field(default=3, ge=1, le=1000)
    models: dict[str, BreakerOverride] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _open_at_most_max(self) -> Self:
        if self.open_s > self.max_open_s:
            raise ValueError(f"open_s {self.open_s:g} is above max_open_s {self.max_open_s:g}")
        return self

    def for_model(self, model_id: str) -> BreakerPolicy:
        """This policy with `model_id`'s own settings applied."""
        return _with_override(self, self.models.get(model_id))

    @model_validator(mode="after")
    def _overrides_are_valid(self) -> Self:
        _check_overrides(self, self.models)
        return self


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
        named |= set(self.retry.models) | set(self.breaker.models)
        return named

    def check_models(self, registry: ModelRegistry) -> None:
        """Every id must be in the registry; UnknownModelError names the first that is not."""
        for model_id in sorted(self.model_ids()):
            registry.get(model_id)

    @classmethod
    def from_yaml(cls, path: Path) -> RoutingConfig:
        return load_yaml_model(cls, path, "routing")
