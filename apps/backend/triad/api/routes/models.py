"""The model registry as callers see it: ids, tiers, prices, and whether each is usable."""

from __future__ import annotations

import os

from fastapi import APIRouter, Request
from pydantic import BaseModel

from triad.providers.registry import ModelRegistry, ModelSpec

router = APIRouter(tags=["models"])


class ModelInfo(BaseModel):
    id: str
    kind: str
    provider: str
    tier: str
    context_window: int | None
    input_price_per_mtok: float
    output_price_per_mtok: float
    configured: bool
    missing_env: str | None


def describe(spec: ModelSpec) -> ModelInfo:
    """A registry row without secrets: only whether its key variable is set, never its value."""
    missing = (
        spec.api_key_env if spec.api_key_env and not os.environ.get(spec.api_key_env) else None
    )
    return ModelInfo(
        id=spec.id,
        kind=spec.kind,
        provider=spec.provider,
        tier=spec.tier,
        context_window=spec.context_window,
        input_price_per_mtok=spec.input_price_per_mtok,
        output_price_per_mtok=spec.output_price_per_mtok,
        configured=missing is None,
        missing_env=missing,
    )


@router.get("/models")
async def list_models(request: Request) -> list[ModelInfo]:
    """Every model in the registry; `configured` is false when its key variable is unset."""
    registry: ModelRegistry = request.app.state.registry
    return [describe(spec) for spec in registry]
