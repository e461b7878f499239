"""How long an answer an API caller may ask for: `max_tokens` defaulted and capped per model.

A caller who names no length gets `DEFAULT_MAX_TOKENS`; no caller gets more than the
`max_output_tokens` of the first model the request can reach (the first one planned whose key
is set; config/models.yaml), so one request cannot hold a slow local model's only slot for
minutes. A later fallback gets the same number: the cap protects the model meant to answer.
"""

from __future__ import annotations

from triad.errors import MissingCredentialError
from triad.routing.types import RouteKey
from triad.runtime import Runtime

DEFAULT_MAX_TOKENS = 256


def completion_tokens(
    runtime: Runtime, route: RouteKey, *, first: str | None, requested: int | None
) -> int:
    """`requested` (or the default), no more than the cap of the first usable planned model."""
    wanted = DEFAULT_MAX_TOKENS if requested is None else requested
    for candidate in runtime.router.plan(route, first=first):
        if candidate.model_id not in runtime.registry:
            continue
        try:
            runtime.provider(candidate.model_id)
        except MissingCredentialError:
            continue
        cap = runtime.registry.get(candidate.model_id).max_output_tokens
        return wanted if cap is None else min(wanted, cap)
    return wanted
