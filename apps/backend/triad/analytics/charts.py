"""What the console's charts read: the consensus histogram, recent disagreements, model health."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, not_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from triad.db.models import Candidate, Conversation, CriticEvaluation, Message, ProviderCall
from triad.errors import InputError
from triad.routing.costs import day_bounds
from triad.routing.router import Router

SNIPPET_CHARS = 280
HEALTH_WINDOW = timedelta(hours=1)


@dataclass
class Bin:
    lower: float
    upper: float
    turns: int = 0


async def consensus_histogram(
    session: AsyncSession,
    *,
    start: date,
    end: date,
    tenant: str,
    timezone: str,
    bins: int,
    agent: str | None = None,
) -> list[Bin]:
    """Evaluated turns per consensus bin; bins are [lower, upper), the last one closed."""
    if not 1 <= bins <= 100:
        raise InputError(f"bins must be between 1 and 100, got {bins}")
    low, high = day_bounds(start, end, ZoneInfo(timezone))
    bucket = func.least(func.width_bucket(CriticEvaluation.consensus, 0.0, 1.0, bins), bins)
    stmt = (
        select(bucket.label("bucket"), func.count().label("turns"))
        .join(Message, Message.id == CriticEvaluation.message_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.tenant == tenant, Message.created_at >= low, Message.created_at < high)
        .group_by(bucket)
    )
    if agent is not None:
        stmt = stmt.where(Message.agent == agent)
    counts = {int(b): int(n) for b, n in (await session.execute(stmt)).all()}
    return [Bin(i / bins, (i + 1) / bins, counts.get(i + 1, 0)) for i in range(bins)]


@dataclass
class Disagreement:
    message_id: int
    conversation_id: uuid.UUID
    agent: str | None
    question: str
    answers: dict[str, str | None]
    """Each role's answer (cut to SNIPPET_CHARS), or None when the role failed."""
    consensus: float
    decision: str | None
    created_at: datetime


def _snippet(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 1] + "…"


async def disagreements(
    session: AsyncSession, *, tenant: str, below: float, limit: int
) -> list[Disagreement]:
    """The latest turns whose consensus is under `below`, newest first."""
    question = aliased(Message)
    stmt = (
        select(Message, CriticEvaluation.consensus, question.content)
        .join(CriticEvaluation, CriticEvaluation.message_id == Message.id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .outerjoin(question, question.id == Message.reply_to_id)
        .where(Conversation.tenant == tenant, CriticEvaluation.consensus < below)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    )
    rows = (await session.execute(stmt)).all()
    ids = [m.id for m, _, _ in rows]
    answers: dict[int, dict[str, str | None]] = {i: {} for i in ids}
    if ids:
        for cand in await session.scalars(
            select(Candidate).where(Candidate.message_id.in_(ids)).order_by(Candidate.id)
        ):
            answers[cand.message_id][cand.role] = _snippet(cand.text)
    return [
        Disagreement(
            message_id=m.id,
            conversation_id=m.conversation_id,
            agent=m.agent,
            question=asked or "",
            answers=answers[m.id],
            consensus=float(consensus),
            decision=m.decision,
            created_at=m.created_at,
        )
        for m, consensus, asked in rows
    ]


@dataclass
class ModelHealthRow:
    """One model: its breaker in this process, and its last hour of calls from every replica."""

    model_id: str
    circuit: str | None
    """closed | open | half_open; None for a model this process's registry does not know."""
    reopens_in_s: float = 0.0
    calls: int = 0
    errors: int = 0
    p95_latency_ms: float | None = None
    error_rate: float | None = None


async def provider_health(
    session: AsyncSession, router: Router, *, now: datetime
) -> list[ModelHealthRow]:
    """Every registry model plus any other model called in the last hour, by model id."""
    pc = ProviderCall
    model_id = pc.provider + ":" + pc.model
    called = and_(pc.outcome != "cache_hit", not_(pc.outcome.startswith("skipped")))
    failed = and_(called, pc.outcome != "ok")
    p95 = func.percentile_cont(0.95).within_group(pc.latency_ms).filter(pc.outcome == "ok")
    stmt = (
        select(
            model_id.label("model_id"),
            func.count().filter(called).label("calls"),
            func.count().filter(failed).label("errors"),
            p95.label("p95"),
        )
        .where(pc.created_at >= now - HEALTH_WINDOW, pc.created_at <= now)
        .group_by(model_id)
    )
    seen = {r.model_id: r for r in (await session.execute(stmt)).all()}
    known = router.registry.ids()
    rows: list[ModelHealthRow] = []
    for mid in sorted(set(known) | set(seen)):
        breaker = router.breakers[mid] if mid in known else None
        row = ModelHealthRow(
            model_id=mid,
            circuit=breaker.state if breaker else None,
            reopens_in_s=breaker.reopens_in_s if breaker else 0.0,
        )
        if mid in seen:
            stats = seen[mid]
            row.calls, row.errors = int(stats.calls), int(stats.errors)
            row.p95_latency_ms = float(stats.p95) if stats.p95 is not None else None
            row.error_rate = row.errors / row.calls if row.calls else None
        rows.append(row)
    return rows
