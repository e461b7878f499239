"""Turns answered from the turn cache, and checked turns kept for it.

Which turns take part (the rule `answer_turn` applies): the first question of a conversation
(a follow-up depends on what was said before it) without notes from a deterministic tool (the
booking validator speaks about this conversation only), for an agent whose TTL is not 0. Only
`send` turns that are not degraded are stored; a hit whose stored consensus is below today's
threshold is ignored.

A hit is a turn like any other: the customer message, the assistant reply (decision `send`),
exactly one training signal (decision `send`, winner `cache`, the stored consensus and
passages; its one candidate names the cache entry and the turn that was checked), one
`provider_calls` row with outcome `cache_hit` and no cost, and a `cache_hits` row with the
cost the hit saved. No critic evaluation is written: the reply was checked when it was stored.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from triad.db.models import Message, ProviderCall, TrainingSignal
from triad.ensemble.core import EnsembleResult
from triad.observability import genai
from triad.routing.cache import CacheScope
from triad.routing.turn_cache import CachedTurn, TurnCache


async def record_cached_turn(
    session: AsyncSession,
    *,
    conversation_id: uuid.UUID,
    tenant: str,
    customer_text: str,
    hit: CachedTurn,
    scope: CacheScope,
    cache: TurnCache,
    user_id: str | None,
    api_key_id: int | None = None,
) -> tuple[Message, Message, EnsembleResult]:
    """Add every row of a turn served from the cache; flushes, the caller commits."""
    agent = scope.agent or ""
    trace_id = genai.current_trace_id()
    question = Message(
        conversation_id=conversation_id,
        role="customer",
        content=customer_text,
        agent=agent,
        trace_id=trace_id,
    )
    session.add(question)
    await session.flush()
    reply = Message(
        conversation_id=conversation_id,
        role="assistant",
        content=hit.reply,
        agent=agent,
        reply_to_id=question.id,
        trace_id=trace_id,
        decision="send",
    )
    session.add(reply)
    await session.flush()
    knowledge_version = scope.knowledge_version or 0
    session.add(
        TrainingSignal(
            message_id=reply.id,
            trace_id=trace_id,
            tenant=tenant,
            agent=agent,
            prompt=customer_text,
            passage_ids=hit.passage_ids,
            knowledge_version=knowledge_version,
            prompt_version=scope.prompt_version,
            candidates=[
                {
                    "role": "cache",
                    "model": hit.model_id,
                    "text": hit.reply,
                    "error": None,
                    "cache_entry": hit.found.entry.id,
                    "cache_kind": hit.found.kind,
                    "similarity": round(hit.found.similarity, 4),
                    "checked_in_message": hit.source_message_id,
                    "checked_winner": hit.winner,
                }
            ],
            winner="cache",
            scores={},
            consensus=hit.consensus,
            unsupported_claims=[],
            decision="send",
        )
    )
    provider, _, model = hit.model_id.partition(":")
    session.add(
        ProviderCall(
            message_id=reply.id,
            task_type=scope.task_type,
            agent=agent,
            role="cache",
            user_id=user_id,
            provider=provider,
            model=model or provider,
            cost_usd=0.0,
            outcome="cache_hit",
            reason=hit.reason,
            api_key_id=api_key_id,
        )
    )
    await cache.record_hit(session, hit, scope, message_id=reply.id)
    result = EnsembleResult(
        agent=agent,
        prompt=customer_text,
        reply=hit.reply,
        decision="send",
        winner="cache",
        critic=None,
        outcomes=[],
        passages=[],
        knowledge_version=knowledge_version,
        prompt_version=scope.prompt_version,
        facts=[],
        quote=None,
        escalation_reason=None,
    )
    return question, reply, result


async def store_checked_turn(
    session: AsyncSession,
    *,
    cache: TurnCache,
    tenant: str,
    customer_text: str,
    result: EnsembleResult,
    facts: list[str],
    message_id: int,
) -> bool:
    """Keep a clean `send` reply for later questions like this one; True when stored."""
    if result.decision != "send" or result.degraded or result.critic is None:
        return False
    winner = next((o for o in result.outcomes if o.role == result.winner), None)
    if winner is None or winner.completion is None:
        return False
    scope = cache.scope_for(
        tenant=tenant,
        agent=result.agent,
        question=customer_text,
        prompt_version=result.prompt_version,
        knowledge_version=result.knowledge_version,
        facts=facts,
    )
    if scope is None:
        return False
    done = [o.completion for o in result.outcomes if o.completion is not None]
    await cache.store_reply(
        session,
        scope,
        reply=result.reply,
        model_id=winner.model_id,
        winner=winner.role,
        consensus=float(result.critic.consensus),
        passage_ids=[p.chunk_id for p in result.passages],
        cost_usd=sum(o.cost_usd for o in result.outcomes),
        input_tokens=sum(c.input_tokens or 0 for c in done),
        output_tokens=sum(c.output_tokens or 0 for c in done),
        message_id=message_id,
    )
    return True
