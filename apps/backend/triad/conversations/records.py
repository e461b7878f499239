"""Write one answered turn: every row it produced, in the caller's single transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from triad.db.models import (
    Candidate,
    CriticEvaluation,
    Escalation,
    Message,
    ProviderCall,
    TrainingSignal,
)
from triad.ensemble.core import EnsembleResult, RoleOutcome
from triad.ensemble.critic.models import AnswerVerdict
from triad.experiments.arms import Assignment
from triad.observability import genai
from triad.routing.types import AttemptRecord


def _claims(verdict: AnswerVerdict | None) -> list[dict[str, Any]]:
    return [c.model_dump(mode="json") for c in verdict.unsupported_claims] if verdict else []


def _candidate_row(
    message_id: int, outcome: RoleOutcome, verdict: AnswerVerdict | None
) -> Candidate:
    done = outcome.completion
    provider, _, model = outcome.model_id.partition(":")
    return Candidate(
        message_id=message_id,
        role=outcome.role,
        provider=done.provider if done else provider,
        model=done.model if done else model,
        text=done.text if done else None,
        error=f"{outcome.error_type}: {outcome.error}" if outcome.error_type else None,
        finish_reason=done.finish_reason if done else None,
        latency_ms=outcome.latency_ms,
        input_tokens=done.input_tokens if done else None,
        output_tokens=done.output_tokens if done else None,
        cost_usd=outcome.cost_usd,
        score=verdict.score if verdict else None,
        unsupported_claims=_claims(verdict),
    )


def attempt_row(
    record: AttemptRecord,
    *,
    task_type: str,
    user_id: str | None,
    agent: str | None = None,
    role: str | None = None,
    message_id: int | None = None,
    experiment: Assignment | None = None,
    api_key_id: int | None = None,
) -> ProviderCall:
    """One router attempt as a provider_calls row (shared with `POST /llm/complete`)."""
    provider, _, model = record.model_id.partition(":")
    return ProviderCall(
        message_id=message_id,
        task_type=task_type,
        agent=agent,
        role=role,
        user_id=user_id,
        provider=provider,
        model=model,
        input_tokens=record.input_tokens,
        output_tokens=record.output_tokens,
        tokens_estimated=record.tokens_estimated,
        cost_usd=record.cost_usd,
        latency_ms=record.latency_ms,
        outcome=record.outcome,
        error_type=record.error_type,
        error=record.error,
        retry_count=record.retry_count,
        reason=record.reason,
        experiment_id=experiment.experiment_id if experiment else None,
        experiment_arm=experiment.arm if experiment else None,
        api_key_id=api_key_id,
    )


def _provider_call_rows(
    message_id: int,
    result: EnsembleResult,
    outcome: RoleOutcome,
    user_id: str | None,
    api_key_id: int | None,
) -> list[ProviderCall]:
    """One row per router attempt; one row for a role served by a plain provider."""
    if outcome.attempts:
        return [
            attempt_row(
                a,
                task_type=f"chat.{result.agent}",
                user_id=user_id,
                agent=result.agent,
                role=outcome.role,
                message_id=message_id,
                experiment=result.experiment,
                api_key_id=api_key_id,
            )
            for a in outcome.attempts
        ]
    return [_plain_call_row(message_id, result, outcome, user_id, api_key_id)]


def _plain_call_row(
    message_id: int,
    result: EnsembleResult,
    outcome: RoleOutcome,
    user_id: str | None,
    api_key_id: int | None,
) -> ProviderCall:
    done = outcome.completion
    provider, _, model = outcome.model_id.partition(":")
    return ProviderCall(
        message_id=message_id,
        task_type=f"chat.{result.agent}",
        agent=result.agent,
        role=outcome.role,
        user_id=user_id,
        provider=provider,
        model=model,
        input_tokens=done.input_tokens if done else None,
        output_tokens=done.output_tokens if done else None,
        cost_usd=outcome.cost_usd,
        latency_ms=outcome.latency_ms,
        outcome="ok" if outcome.ok else (outcome.error_type or "empty"),
        error_type=outcome.error_type,
        error=outcome.error,
        reason=f"ensemble role {outcome.role}",
        experiment_id=result.experiment.experiment_id if result.experiment else None,
        experiment_arm=result.experiment.arm if result.experiment else None,
        api_key_id=api_key_id,
    )


async def record_turn(
    session: AsyncSession,
    *,
    conversation_id: uuid.UUID,
    tenant: str,
    customer_text: str,
    result: EnsembleResult,
    user_id: str | None,
    api_key_id: int | None = None,
) -> tuple[Message, Message, Escalation | None]:
    """Add the customer message, reply, candidates, evaluation, signal and escalation.

    Flushes but does not commit: the caller owns the transaction, so a failure anywhere leaves
    nothing half-written.
    """
    trace_id = genai.current_trace_id()
    question = Message(
        conversation_id=conversation_id,
        role="customer",
        content=customer_text,
        agent=result.agent,
        trace_id=trace_id,
    )
    session.add(question)
    await session.flush()
    reply = Message(
        conversation_id=conversation_id,
        role="assistant",
        content=result.reply,
        agent=result.agent,
        reply_to_id=question.id,
        trace_id=trace_id,
        decision=result.decision,
        degraded=result.degraded,
        experiment_id=result.experiment.experiment_id if result.experiment else None,
        experiment_arm=result.experiment.arm if result.experiment else None,
    )
    session.add(reply)
    await session.flush()

    critic = result.critic
    verdicts = dict(critic.verdicts) if critic is not None else {}
    candidates = {
        o.role: _candidate_row(reply.id, o, verdicts.get(o.role)) for o in result.outcomes
    }
    session.add_all(candidates.values())
    session.add_all(
        row
        for o in result.outcomes
        for row in _provider_call_rows(reply.id, result, o, user_id, api_key_id)
    )
    await session.flush()

    scores = {role: v.score for role, v in verdicts.items()}
    unsupported = {role: _claims(v) for role, v in verdicts.items()}
    consensus = float(critic.consensus) if critic is not None else 0.0
    if critic is not None:
        winner_row = candidates.get(result.winner) if result.winner else None
        session.add(
            CriticEvaluation(
                message_id=reply.id,
                winner_candidate_id=winner_row.id if winner_row else None,
                consensus=consensus,
                scores=scores,
                claims=[
                    {"role": role, **c.model_dump(mode="json")}
                    for role, v in verdicts.items()
                    for c in v.claims
                ],
                rationale=critic.rationale,
                judge_model=", ".join(critic.judged_by),
                latency_ms=critic.latency_ms,
            )
        )
    session.add(
        TrainingSignal(
            message_id=reply.id,
            trace_id=trace_id,
            tenant=tenant,
            agent=result.agent,
            prompt=result.prompt,
            passage_ids=[p.chunk_id for p in result.passages],
            knowledge_version=result.knowledge_version,
            prompt_version=result.prompt_version,
            candidates=[
                {
                    "role": o.role,
                    "model": o.model_id,
                    "text": o.completion.text if o.completion else None,
                    "error": o.error_type,
                }
                for o in result.outcomes
            ],
            winner=result.winner,
            scores=scores,
            consensus=consensus,
            unsupported_claims=[
                {"role": role, **claim} for role, claims in unsupported.items() for claim in claims
            ],
            decision=result.decision,
            experiment_id=result.experiment.experiment_id if result.experiment else None,
            experiment_arm=result.experiment.arm if result.experiment else None,
        )
    )
    escalation = None
    if result.escalate:
        escalation = Escalation(
            conversation_id=conversation_id,
            message_id=reply.id,
            agent=result.agent,
            reason=result.escalation_reason or result.decision,
            consensus=consensus if critic is not None else None,
            trace_id=trace_id,
        )
        session.add(escalation)
    await session.flush()
    return question, reply, escalation
