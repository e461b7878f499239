"""Generic completions for other backends: the router without the agents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from triad.api.deps import ApiKeyDep, RuntimeDep, SessionDep
from triad.api.token_limits import completion_tokens
from triad.auth.keys import ROUTER_MODEL, KeyGrant
from triad.conversations.records import attempt_row
from triad.errors import AllProvidersFailedError, BudgetExceededError
from triad.experiments.arms import Assignment
from triad.experiments.canary import after_traffic
from triad.experiments.store import assign_unit
from triad.providers.base import ChatMessage, CompletionRequest
from triad.routing.router import attempts_of
from triad.routing.types import AttemptRecord, Priority, RouteKey

router = APIRouter(prefix="/llm", tags=["llm"])


class CompleteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_type: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")]
    prompt: str = Field(min_length=1, max_length=32_000)
    priority: Priority = "medium"
    user_id: str | None = Field(default=None, max_length=200)
    system: str | None = Field(default=None, max_length=8_000)
    max_tokens: int | None = Field(
        default=None, ge=1, le=4096, description="default 256; at most the model's cap"
    )
    temperature: float = Field(default=0.2, ge=0, le=2)

    @field_validator("prompt")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("prompt must not be blank")
        return value


class AttemptOut(BaseModel):
    model: str
    outcome: str
    error_type: str | None
    error: str | None
    latency_ms: float
    retry_count: int
    reason: str


class CompleteResponse(BaseModel):
    text: str
    model: str
    provider: str
    finish_reason: str
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float
    latency_ms: float
    degraded: bool = Field(description="a lower-tier model than the route's first answered")
    disclaimer: str | None = Field(description="the configured degraded-answer notice, if any")
    cached: bool
    reason: str = Field(description="why the answering model was chosen")
    attempts: list[AttemptOut]


@router.post("/complete")
async def complete(
    body: CompleteRequest, session: SessionDep, runtime: RuntimeDep, key: ApiKeyDep
) -> CompleteResponse:
    """Route a prompt by task_type and priority: retries, circuit breakers and fallback.

    Every model tried or skipped is recorded (tokens, cost, latency, retries, reason). A
    degraded answer (from a lower tier than the route's first model) says so and carries the
    configured disclaimer; `text` itself is left as the model wrote it. When every model fails
    the answer is a 503 whose body names each attempt. Needs an API key (`Authorization:
    Bearer`); a key limited to some models must allow `triad/auto`, the plain router.
    """
    if key is not None:
        key.check_model(ROUTER_MODEL)
    messages = [ChatMessage(role="system", content=body.system)] if body.system else []
    messages.append(ChatMessage(role="user", content=body.prompt))
    arm = await assign_unit(
        session, target_kind="task_type", target=body.task_type, unit=body.user_id
    )
    route = RouteKey(
        task_type=body.task_type,
        priority=body.priority,
        user_id=body.user_id,
        prompt_version=arm.cache_tag if arm else None,
    )
    first = arm.choice.model if arm else None
    limit = completion_tokens(runtime, route, first=first, requested=body.max_tokens)
    request = CompletionRequest(messages=messages, max_tokens=limit, temperature=body.temperature)
    try:
        routed = await runtime.router.route(route, request, first=first)
    except (AllProvidersFailedError, BudgetExceededError) as exc:
        await _record(session, body, attempts_of(exc), arm, key)
        raise
    await _record(session, body, routed.attempts, arm, key)
    done, winner = routed.completion, routed.attempts[-1]
    return CompleteResponse(
        text=done.text,
        model=routed.model_id,
        provider=done.provider,
        finish_reason=done.finish_reason,
        input_tokens=winner.input_tokens,
        output_tokens=winner.output_tokens,
        cost_usd=winner.cost_usd,
        latency_ms=winner.latency_ms,
        degraded=routed.degraded,
        disclaimer=runtime.routing.degraded_disclaimer if routed.degraded else None,
        cached=routed.cached,
        reason=routed.reason,
        attempts=[
            AttemptOut(
                model=a.model_id,
                outcome=a.outcome,
                error_type=a.error_type,
                error=a.error,
                latency_ms=a.latency_ms,
                retry_count=a.retry_count,
                reason=a.reason,
            )
            for a in routed.attempts
        ],
    )


async def _record(
    session: AsyncSession,
    body: CompleteRequest,
    records: list[AttemptRecord],
    arm: Assignment | None = None,
    key: KeyGrant | None = None,
) -> None:
    session.add_all(
        attempt_row(
            r,
            task_type=body.task_type,
            user_id=body.user_id,
            experiment=arm,
            api_key_id=key.id if key else None,
        )
        for r in records
    )
    await session.commit()
    if arm is not None:
        await after_traffic(session, arm.experiment_id, arm.kind)
