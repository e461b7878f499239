"""The day's interesting cases: where a model was wrong or the answer did not satisfy.

A case is one erring answer of one turn: a claim the critic found unsupported or
contradicted, the losing side of a low-consensus disagreement, an escalated turn staff
answered, or a reply the customer gave a thumbs down. Each case keeps what a lesson needs:
who erred, what they said, and the right answer when one is known (the clean winner's text or
the staff reply).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from triad.db.models import Conversation, Message, TrainingSignal

CaseKind = Literal["contradicted", "unsupported", "disagreement", "escalation", "negative_feedback"]


@dataclass(frozen=True)
class Case:
    """One erring answer of one turn, with its training signal as the evidence."""

    signal_id: int
    agent: str
    kind: CaseKind
    question: str
    role: str | None
    model: str | None
    claim: str
    right_answer: str | None
    consensus: float

    @property
    def subject(self) -> str:
        """What a lesson is about: the wrong claim, or the question when no claim is known."""
        return self.claim or self.question


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Local midnight of `day` to the next local midnight (DST-safe)."""
    nxt = day + timedelta(days=1)
    return (
        datetime(day.year, day.month, day.day, tzinfo=zone),
        datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone),
    )


async def customer_sessions(session: AsyncSession, tenant: str) -> int:
    """Conversations of the tenant with at least one customer message (the activation count)."""
    asked = select(Message.conversation_id).where(Message.role == "customer").distinct()
    query = (
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.tenant == tenant, Conversation.id.in_(asked))
    )
    return int(await session.scalar(query) or 0)


def _models(signal: TrainingSignal) -> dict[str, dict[str, Any]]:
    return {str(c.get("role")): c for c in signal.candidates if isinstance(c, dict)}


def _right_answer(signal: TrainingSignal, erring: str | None) -> str | None:
    """Staff's reply first; else the winner's text when the winner was clean and not `erring`."""
    if signal.gold_answer:
        return signal.gold_answer
    if signal.winner is None or signal.winner == erring:
        return None
    if any(c.get("role") == signal.winner for c in signal.unsupported_claims):
        return None
    text = _models(signal).get(signal.winner, {}).get("text")
    return str(text) if text else None


def cases_of(signal: TrainingSignal, feedback: int | None, threshold: float) -> list[Case]:
    """Every case one turn holds; an empty list for a clean, agreed, liked turn."""
    models = _models(signal)
    low = signal.consensus < threshold
    found: list[Case] = []
    seen: set[tuple[str | None, str]] = set()

    def add(kind: CaseKind, role: str | None, claim: str) -> None:
        if (role, claim) in seen:
            return
        seen.add((role, claim))
        model = models.get(role or "", {}).get("model")
        found.append(
            Case(
                signal_id=signal.id,
                agent=signal.agent,
                kind=kind,
                question=signal.prompt,
                role=role,
                model=str(model) if model else None,
                claim=claim,
                right_answer=_right_answer(signal, role),
                consensus=signal.consensus,
            )
        )

    for claim in signal.unsupported_claims:
        if not isinstance(claim, dict) or not claim.get("text"):
            continue
        kind: CaseKind = "contradicted" if claim.get("status") == "contradicted" else "unsupported"
        add(kind, claim.get("role"), str(claim["text"]))
    if low and not found:
        losers = [r for r in models if r != signal.winner and models[r].get("text")]
        for role in losers:
            add("disagreement", role, str(models[role]["text"]))
    if signal.gold_answer and not found:
        add("escalation", signal.winner, "")
    if feedback == -1 and not found:
        sent = models.get(signal.winner or "", {}).get("text")
        add("negative_feedback", signal.winner, str(sent or ""))
    return found


async def find_cases(
    session: AsyncSession,
    *,
    tenant: str,
    day: date,
    zone: ZoneInfo,
    threshold: float,
    limit: int,
) -> list[Case]:
    """The day's cases of the tenant (the day in `zone`), oldest signal first."""
    start, end = day_bounds(day, zone)
    query = (
        select(TrainingSignal, Message.feedback)
        .join(Message, Message.id == TrainingSignal.message_id)
        .where(
            TrainingSignal.tenant == tenant,
            TrainingSignal.created_at >= start,
            TrainingSignal.created_at < end,
            or_(
                TrainingSignal.consensus < threshold,
                func.jsonb_array_length(TrainingSignal.unsupported_claims) > 0,
                TrainingSignal.gold_answer.is_not(None),
                Message.feedback == -1,
            ),
        )
        .order_by(TrainingSignal.id)
    )
    cases: list[Case] = []
    for signal, feedback in await session.execute(query):
        cases.extend(cases_of(signal, feedback, threshold))
        if len(cases) >= limit:
            break
    return cases[:limit]
