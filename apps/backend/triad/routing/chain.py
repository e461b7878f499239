"""Ordered fallback over registry models for `POST /llm/complete`.

Each model is tried once; a runtime failure or a missing key moves on to the next one, and
every attempt is reported so it can be recorded. Retries, breakers and budgets build on this.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from triad.errors import (
    AllProvidersFailedError,
    Attempt,
    InvalidConfigError,
    MissingCredentialError,
    ProviderError,
)
from triad.providers.base import Completion, CompletionRequest, Provider

Priority = Literal["low", "medium", "high"]


class RouteTable(BaseModel):
    """task_type -> priority -> ordered model ids; `default` serves unknown task types."""

    model_config = ConfigDict(extra="forbid")

    routes: dict[str, dict[Priority, list[str]]] = Field(min_length=1)

    def chain(self, task_type: str, priority: Priority) -> list[str]:
        by_priority = self.routes.get(task_type) or self.routes.get("default")
        if not by_priority or priority not in by_priority:
            raise InvalidConfigError(
                f"no route for task_type '{task_type}' at priority '{priority}' "
                "and no 'default' route in the routing config"
            )
        return by_priority[priority]

    def model_ids(self) -> set[str]:
        return {
            m for by_priority in self.routes.values() for ids in by_priority.values() for m in ids
        }

    @classmethod
    def from_yaml(cls, path: Path) -> RouteTable:
        try:
            return cls.model_validate(yaml.safe_load(path.read_text()))
        except (OSError, yaml.YAMLError, ValidationError) as exc:
            raise InvalidConfigError(f"invalid routing config {path}: {exc}") from exc


@dataclass
class CallRecord:
    """One attempt of a chain, as the provider_calls table wants it."""

    model_id: str
    position: int
    outcome: str
    latency_ms: float
    completion: Completion | None = None
    error_type: str | None = None
    error: str | None = None


@dataclass
class ChainResult:
    """The answer (if any model gave one) and every attempt on the way."""

    completion: Completion | None
    model_id: str | None
    records: list[CallRecord] = field(default_factory=list)

    def failure(self) -> AllProvidersFailedError:
        return AllProvidersFailedError(
            [Attempt(r.model_id, r.error_type or "error", r.error or "") for r in self.records]
        )


async def complete_with_fallback(
    chain: list[str], request: CompletionRequest, provider_for: Callable[[str], Provider]
) -> ChainResult:
    """The first model in `chain` that answers, with the attempts; `completion` is None when
    every model failed (the caller records the attempts, then raises `result.failure()`)."""
    records: list[CallRecord] = []
    for position, model_id in enumerate(chain):
        started = time.perf_counter()
        try:
            completion = await provider_for(model_id).complete(request)
        except (ProviderError, MissingCredentialError) as exc:
            outcome = "skipped" if isinstance(exc, MissingCredentialError) else "error"
            records.append(
                CallRecord(
                    model_id=model_id,
                    position=position,
                    outcome=outcome,
                    latency_ms=(time.perf_counter() - started) * 1000,
                    error_type=type(exc).__name__,
                    error=str(exc),
                )
            )
            continue
        latency = (time.perf_counter() - started) * 1000
        records.append(CallRecord(model_id, position, "ok", latency, completion=completion))
        return ChainResult(completion=completion, model_id=model_id, records=records)
    return ChainResult(completion=None, model_id=None, records=records)
