"""Customer sessions, turns, feedback and staff replies: plain functions over a session."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from triad import metrics
from triad.agents.prompts import load_template
from triad.agents.selector import AgentSelector
from triad.conversations.booking import track_booking
from triad.conversations.cached_turns import record_cached_turn, store_checked_turn
from triad.conversations.records import record_turn
from triad.db.models import Conversation, Escalation, Message, TrainingSignal
from triad.dialogue.lessons import approved_lessons_for
from triad.ensemble.core import EnsembleResult, LLMEnsemble, TurnContext
from triad.errors import ConflictError, InputError, NotFoundError
from triad.experiments.canary import after_traffic
from triad.experiments.store import assign_unit
from triad.knowledge.embedding import TextEmbedder
from triad.knowledge.ingest import current_knowledge_version
from triad.knowledge.retrieval import Passage, retrieve
from triad.observability import genai
from triad.providers.base import ChatMessage
from triad.routing.cache import CacheScope
from triad.routing.turn_cache import CachedTurn, TurnCache

HISTORY_TURNS = 6


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_conversation(
    session: AsyncSession, *, tenant: str, agent: str | None, customer_ref: str | None
) -> tuple[Conversation, str]:
    """A new chat session and its bearer token (shown once; only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    conversation = Conversation(
        tenant=tenant, agent=agent, customer_ref=customer_ref, token_hash=hash_token(token)
    )
    session.add(conversation)
    await session.commit()
    return conversation, token


async def authorize(
    session: AsyncSession, *, conversation_id: uuid.UUID, token: str | None
) -> Conversation:
    """The conversation if `token` opens it; the same NotFoundError whether missing or wrong."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or not token:
        raise NotFoundError("chat session not found, or the session token does not match")
    if not hmac.compare_digest(conversation.token_hash, hash_token(token)):
        raise NotFoundError("chat session not found, or the session token does not match")
    return conversation


async def history(session: AsyncSession, conversation_id: uuid.UUID) -> list[Message]:
    rows = await session.scalars(
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
    )
    return list(rows)


def _as_chat(messages: Sequence[Message]) -> list[ChatMessage]:
    recent = [m for m in messages if m.role in ("customer", "assistant", "staff")]
    return [
        ChatMessage(role="user" if m.role == "customer" else "assistant", content=m.content)
        for m in recent[-2 * HISTORY_TURNS :]
    ]


@dataclass
class TurnOutcome:
    question: Message
    reply: Message
    escalation: Escalation | None
    result: EnsembleResult
    cached: bool = False


async def answer_turn(
    session: AsyncSession,
    *,
    conversation: Conversation,
    text: str,
    agent: str | None,
    ensemble: LLMEnsemble,
    selector: AgentSelector,
    embedder: TextEmbedder,
    user_id: str | None,
    lesson_limit: int,
    lessons: Sequence[str] = (),
    now: datetime | None = None,
    cache: TurnCache | None = None,
    api_key_id: int | None = None,
) -> TurnOutcome:
    """Run the ensemble on a customer message and store the whole turn in one transaction.

    With a `cache`, a first question may be answered by a checked reply stored earlier, and a
    clean `send` reply is stored for later (the rules are in `conversations.cached_turns`).
    `api_key_id` (a `/v1` turn) goes on the turn's provider_calls rows.
    """
    if not text.strip():
        raise InputError("message content must not be blank")
    if agent is not None and agent not in selector.names:
        raise InputError(f"unknown agent '{agent}'; known: {sorted(selector.names)}")
    chosen = agent or conversation.agent or selector.select(text).agent
    with genai.invoke_agent(
        chosen, conversation_id=str(conversation.id), tenant=conversation.tenant, question=text
    ) as span:
        turn = await _answer_as(
            session,
            conversation=conversation,
            text=text,
            chosen=chosen,
            ensemble=ensemble,
            embedder=embedder,
            user_id=user_id,
            lesson_limit=lesson_limit,
            lessons=lessons,
            now=now,
            cache=cache,
            api_key_id=api_key_id,
        )
        genai.record_turn(span, turn.result, question=text, cached=turn.cached)
    return turn


async def _answer_as(
    session: AsyncSession,
    *,
    conversation: Conversation,
    text: str,
    chosen: str,
    ensemble: LLMEnsemble,
    embedder: TextEmbedder,
    user_id: str | None,
    lesson_limit: int,
    lessons: Sequence[str],
    now: datetime | None,
    cache: TurnCache | None,
    api_key_id: int | None = None,
) -> TurnOutcome:
    """The turn once its agent is chosen (the body of `answer_turn`'s invoke_agent span)."""
    if not lessons:
        lessons = await approved_lessons_for(
            session, conversation.tenant, chosen, text, embedder, lesson_limit
        )
    now = now or datetime.now(UTC)  # booking rules convert it to the tenant's clock
    past = await history(session, conversation.id)

    async def retriever(query: str, sources: Sequence[str]) -> tuple[list[Passage], int]:
        with genai.retrieval(conversation.tenant, sources, query) as span:
            passages = await retrieve(
                session,
                query,
                tenant=conversation.tenant,
                embedder=embedder,
                sources=sources,
                k=ensemble.config.retrieval_k,
                outside=ensemble.config.retrieval_outside,
            )
            version = await current_knowledge_version(session, conversation.tenant)
            genai.record_retrieval(span, passages, version)
        return passages, version

    notes: list[str] = []
    if chosen == "booking":
        said = [m.content for m in past if m.role == "customer"] + [text]
        check = await track_booking(
            session, conversation=conversation, customer_texts=said, rules=ensemble.rules, now=now
        )
        notes = check.notes
    experiment = await assign_unit(
        session, target_kind="agent", target=chosen, unit=user_id or str(conversation.id)
    )
    if experiment is not None:
        cache = None  # an arm's metrics must measure the arm, not a reply checked earlier
    scope = None
    rule_facts = ensemble.rules.facts() if cache is not None else []
    if cache is not None and not _as_chat(past) and not notes:
        scope = cache.scope_for(
            tenant=conversation.tenant,
            agent=chosen,
            question=text,
            prompt_version=load_template(chosen).version_id(lessons),
            knowledge_version=await current_knowledge_version(session, conversation.tenant),
            facts=rule_facts,
        )
    if cache is not None and scope is not None:
        hit = await cache.lookup(session, scope)
        if hit is not None and hit.consensus >= ensemble.config.consensus_threshold:
            return await _answer_from_cache(
                session,
                conversation,
                text,
                hit=hit,
                scope=scope,
                cache=cache,
                user_id=user_id,
                api_key_id=api_key_id,
            )
    context = TurnContext(
        retriever=retriever,
        history=_as_chat(past),
        lessons=list(lessons),
        notes=notes,
        experiment=experiment,
    )
    result = await ensemble.generate_with_consensus(text, context, chosen, user_id)
    try:
        question, reply, escalation = await record_turn(
            session,
            conversation_id=conversation.id,
            tenant=conversation.tenant,
            customer_text=text,
            result=result,
            user_id=user_id,
            api_key_id=api_key_id,
        )
        if cache is not None and scope is not None:
            await store_checked_turn(
                session,
                cache=cache,
                tenant=conversation.tenant,
                customer_text=text,
                result=result,
                facts=rule_facts,
                message_id=reply.id,
            )
        conversation.updated_at = datetime.now(UTC)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    metrics.count_turn(result.agent, result.decision)
    if experiment is not None:
        await after_traffic(session, experiment.experiment_id, experiment.kind)
    return TurnOutcome(question, reply, escalation, result)


async def _answer_from_cache(
    session: AsyncSession,
    conversation: Conversation,
    text: str,
    *,
    hit: CachedTurn,
    scope: CacheScope,
    cache: TurnCache,
    user_id: str | None,
    api_key_id: int | None = None,
) -> TurnOutcome:
    """Record a turn served by a stored checked reply, in one transaction."""
    try:
        question, reply, result = await record_cached_turn(
            session,
            conversation_id=conversation.id,
            tenant=conversation.tenant,
            customer_text=text,
            hit=hit,
            scope=scope,
            cache=cache,
            user_id=user_id,
            api_key_id=api_key_id,
        )
        conversation.updated_at = datetime.now(UTC)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    metrics.count_turn(result.agent, result.decision)
    return TurnOutcome(question, reply, None, result, cached=True)


async def set_feedback(
    session: AsyncSession, *, message_id: int, token: str | None, value: int
) -> Message:
    """Thumbs up (+1) or down (-1) on an assistant or staff reply of the caller's session."""
    message = await session.get(Message, message_id)
    if message is None:
        raise NotFoundError(f"message {message_id} not found")
    await authorize(session, conversation_id=message.conversation_id, token=token)
    if message.role not in ("assistant", "staff"):
        raise InputError("feedback is only accepted on replies, not on the customer's own message")
    message.feedback = value
    await session.commit()
    return message


async def list_escalations(
    session: AsyncSession, *, status: str | None, agent: str | None, limit: int
) -> list[Escalation]:
    query = select(Escalation).order_by(Escalation.created_at.desc(), Escalation.id.desc())
    if status:
        query = query.where(Escalation.status == status)
    if agent:
        query = query.where(Escalation.agent == agent)
    return list(await session.scalars(query.limit(limit)))


async def _locked_escalation(session: AsyncSession, escalation_id: int) -> Escalation:
    """The case, row-locked until commit, so two staff acting at once cannot both win."""
    escalation = await session.get(Escalation, escalation_id, with_for_update=True)
    if escalation is None:
        await session.rollback()
        raise NotFoundError(f"escalation {escalation_id} not found")
    if escalation.status == "resolved":
        await session.rollback()
        raise ConflictError(f"escalation {escalation_id} is already resolved")
    return escalation


async def claim_escalation(
    session: AsyncSession, *, escalation_id: int, user_id: int | None
) -> Escalation:
    """Take a case so no other staff member answers it; claiming your own case again is a no-op.

    A claim needs a user to own it: a service token (no user) is refused, though it may reply.
    """
    escalation = await _locked_escalation(session, escalation_id)
    if user_id is None:
        await session.rollback()
        raise InputError("claiming needs a staff account; service tokens can reply but not claim")
    if escalation.status == "claimed":
        if escalation.claimed_by != user_id:
            await session.rollback()
            raise ConflictError(f"escalation {escalation_id} is already claimed by someone else")
        await session.commit()
        return escalation
    escalation.status = "claimed"
    escalation.claimed_by = user_id
    escalation.claimed_at = datetime.now(UTC)
    await session.commit()
    return escalation


async def reply_to_escalation(
    session: AsyncSession, *, escalation_id: int, text: str, staff_user_id: int | None
) -> tuple[Escalation, Message]:
    """Append the staff answer to the customer's session, resolve the case, keep it as gold.

    A case claimed by another staff member is theirs to answer (409).
    """
    if not text.strip():
        raise InputError("reply text must not be blank")
    escalation = await _locked_escalation(session, escalation_id)
    if escalation.claimed_by is not None and escalation.claimed_by != staff_user_id:
        await session.rollback()
        raise ConflictError(f"escalation {escalation_id} is already claimed by someone else")
    message = Message(
        conversation_id=escalation.conversation_id,
        role="staff",
        content=text.strip(),
        agent=escalation.agent,
        reply_to_id=escalation.message_id,
        staff_user_id=staff_user_id,
    )
    session.add(message)
    await session.flush()
    escalation.status = "resolved"
    escalation.reply_message_id = message.id
    escalation.resolved_at = datetime.now(UTC)
    if escalation.message_id is not None:
        signal = await session.scalar(
            select(TrainingSignal).where(TrainingSignal.message_id == escalation.message_id)
        )
        if signal is not None:
            signal.gold_answer = message.content
    await session.commit()
    return escalation, message
