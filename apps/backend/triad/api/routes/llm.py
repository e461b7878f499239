"""Generic completions for other backends: the router without the agents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from triad.api.deps import RuntimeDep, SessionDep
from triad.db.models import ProviderCall
from triad.providers.base import ChatMessage, CompletionRequest
from triad.routing.chain import CallRecord, Priority, complete_with_fallback

router = APIRouter(prefix="/llm", tags=["llm"])


class CompleteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_type: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")]
    prompt: str = Field(min_length=1, max_length=32_000)
    priority: Priority = "medium"
    user_id: str | None = Field(default=None, max_length=200)
    system: str | None = Field(default=None, max_length=8_000)
    max_tokens: int = Field(default=256, ge=1, le=4096)
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
    error: str | None
    latency_ms: float


class CompleteResponse(BaseModel):
    text: str
    model: str
    provider: str
    finish_reason: str
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float
    latency_ms: float
    attempts: list[AttemptOut]


def _row(body: CompleteRequest, record: CallRecord, cost: float) -> ProviderCall:
    provider, _, model = record.model_id.partition(":")
    done = record.completion
    return ProviderCall(
        task_type=body.task_type,
        user_id=body.user_id,
        provider=provider,
        model=model,
        input_tokens=done.input_tokens if done else None,
        output_tokens=done.output_tokens if done else None,
        cost_usd=cost,
        latency_ms=record.latency_ms,
        outcome=record.outcome,
        error_type=record.error_type,
        error=record.error,
        reason=f"route {body.task_type}/{body.priority} position {record.position}",
    )


@router.post("/complete")
async def complete(
    body: CompleteRequest, session: SessionDep, runtime: RuntimeDep
) -> CompleteResponse:
    """Route a prompt by task_type and priority, falling back along the configured chain.

    Every attempt is recorded with tokens, cost and latency. When every model fails the answer
    is a 503 whose body names each attempt.
    """
    messages = [ChatMessage(role="system", content=body.system)] if body.system else []
    messages.append(ChatMessage(role="user", content=body.prompt))
    request = CompletionRequest(
        messages=messages, max_tokens=body.max_tokens, temperature=body.temperature
    )
    chain = runtime.routes.chain(body.task_type, body.priority)
    result = await complete_with_fallback(chain, request, runtime.provider)
    costs = {
        id(r): runtime.cost(r.model_id, r.completion.input_tokens, r.completion.output_tokens)
        if r.completion
        else 0.0
        for r in result.records
    }
    session.add_all(_row(body, r, costs[id(r)]) for r in result.records)
    await session.commit()
    attempts = [
        AttemptOut(model=r.model_id, outcome=r.outcome, error=r.error, latency_ms=r.latency_ms)
        for r in result.records
    ]
    if result.completion is None or result.model_id is None:
        raise result.failure()
    done = result.completion
    winner = result.records[-1]
    return CompleteResponse(
        text=done.text,
        model=result.model_id,
        provider=done.provider,
        finish_reason=done.finish_reason,
        input_tokens=done.input_tokens,
        output_tokens=done.output_tokens,
        cost_usd=costs[id(winner)],
        latency_ms=winner.latency_ms,
        attempts=attempts,
    )
