"""Training data from the signals: DPO preference pairs and SFT pairs, as JSON lines.

The prompt is what the models saw, minus the system template: the passages retrieved for the
turn, the conversation before it and the customer's question. The chosen answer is the staff
reply (`gold_answer`) when there is one, else the critic's winner if it has no unsupported
claim and scores at least `min_score`; the rejected answer (DPO) is another answer with
unsupported claims, the worst scored first. Every conversation text is scrubbed of personal
data (`triad.analytics.pii`) before it is written. A signal that does not make the bar is
skipped and counted under its reason.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TextIO

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from triad.analytics.pii import Scrubber
from triad.db.models import (
    Candidate,
    Conversation,
    CriticEvaluation,
    KnowledgeChunk,
    Message,
    TrainingSignal,
)

Format = Literal["dpo", "sft"]
FORMATS: tuple[Format, ...] = ("dpo", "sft")
DEFAULT_MIN_SCORE = 0.6
HISTORY_MESSAGES = 12
SPEAKERS = {"customer": "Customer", "assistant": "Assistant", "staff": "Staff"}

SKIP_CACHED = "cache hit (no candidates of its own)"
SKIP_NO_WINNER = "no winner and no gold answer"
SKIP_UNSUPPORTED = "winner has unsupported claims"
SKIP_LOW_SCORE = "winner score below min score"
SKIP_NO_REJECTED = "no rejected answer with unsupported claims"


@dataclass
class ExportSummary:
    exported: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    """Where the exported chosen answers came from: gold (staff) or critic."""


def _answered(candidate: Candidate) -> bool:
    return bool(candidate.text and candidate.text.strip()) and candidate.error is None


class _Conversations:
    """Each conversation's messages and scrubber, loaded once for all its signals."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._cache: dict[uuid.UUID, tuple[list[Message], Scrubber]] = {}

    async def get(self, conversation_id: uuid.UUID) -> tuple[list[Message], Scrubber]:
        if conversation_id not in self._cache:
            messages = list(
                await self._session.scalars(
                    select(Message)
                    .where(Message.conversation_id == conversation_id)
                    .order_by(Message.id)
                )
            )
            scrubber = Scrubber(m.content for m in messages if m.role == "customer")
            self._cache = {conversation_id: (messages, scrubber)}  # signals come in turn order
        return self._cache[conversation_id]


def _prompt(
    question: str, passages: Sequence[KnowledgeChunk], before: Sequence[Message], scrub: Scrubber
) -> str:
    parts = []
    if passages:
        knowledge = "\n\n".join(f"[{p.heading_path}]\n{p.content.strip()}" for p in passages)
        parts.append(f"Knowledge:\n{knowledge}")
    said = [m for m in before if m.role in SPEAKERS][-HISTORY_MESSAGES:]
    if said:
        lines = "\n".join(f"{SPEAKERS[m.role]}: {scrub(m.content)}" for m in said)
        parts.append(f"Conversation so far:\n{lines}")
    parts.append(f"Customer: {scrub(question)}")
    return "\n\n".join(parts)


async def _chunks(session: AsyncSession, ids: Sequence[Any]) -> list[KnowledgeChunk]:
    wanted = [int(i) for i in ids]
    if not wanted:
        return []
    found = {
        c.id: c
        for c in await session.scalars(select(KnowledgeChunk).where(KnowledgeChunk.id.in_(wanted)))
    }
    return [found[i] for i in wanted if i in found]


def _choose(
    signal: TrainingSignal,
    candidates: Sequence[Candidate],
    winner_id: int | None,
    min_score: float,
) -> tuple[str, Candidate | None, str] | str:
    """(chosen text, chosen candidate, source) or the reason to skip."""
    if signal.gold_answer and signal.gold_answer.strip():
        return signal.gold_answer.strip(), None, "gold"
    if not candidates:
        return SKIP_CACHED
    winner = next((c for c in candidates if c.id == winner_id and _answered(c)), None)
    if winner is None or winner.text is None:
        return SKIP_NO_WINNER
    if winner.unsupported_claims:
        return SKIP_UNSUPPORTED
    if (winner.score or 0.0) < min_score:
        return SKIP_LOW_SCORE
    return winner.text.strip(), winner, "critic"


def _rejected(
    candidates: Sequence[Candidate], chosen: str, chosen_row: Candidate | None
) -> Candidate | None:
    losers = [
        c
        for c in candidates
        if c is not chosen_row
        and _answered(c)
        and c.unsupported_claims
        and (c.text or "").strip() != chosen
    ]
    return min(losers, key=lambda c: (c.score or 0.0, c.id), default=None)


async def export_signals(
    session: AsyncSession,
    out: TextIO,
    *,
    fmt: Format,
    tenant: str,
    since: datetime | None = None,
    min_score: float = DEFAULT_MIN_SCORE,
    progress: Callable[[int, int], None] | None = None,
) -> ExportSummary:
    """Write one JSON line per usable signal to `out`; `progress(done, total)` after each."""
    where = [TrainingSignal.tenant == tenant]
    if since is not None:
        where.append(TrainingSignal.created_at >= since)
    total = await session.scalar(select(func.count()).select_from(TrainingSignal).where(*where))
    stmt = (
        select(TrainingSignal, Message, CriticEvaluation.winner_candidate_id)
        .join(Message, Message.id == TrainingSignal.message_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .outerjoin(CriticEvaluation, CriticEvaluation.message_id == Message.id)
        .where(*where)
        .order_by(Message.conversation_id, TrainingSignal.id)
    )
    conversations = _Conversations(session)
    summary = ExportSummary()
    rows = (await session.execute(stmt)).all()
    for done, (signal, reply, winner_id) in enumerate(rows, 1):
        candidates = list(
            await session.scalars(
                select(Candidate).where(Candidate.message_id == reply.id).order_by(Candidate.id)
            )
        )
        record = await _record(
            session, signal, reply, candidates, winner_id, conversations, fmt, min_score
        )
        if isinstance(record, str):
            summary.skipped[record] += 1
        else:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            summary.exported += 1
            summary.sources[record["meta"]["source"]] += 1
        if progress is not None:
            progress(done, total or 0)
    return summary


async def _record(
    session: AsyncSession,
    signal: TrainingSignal,
    reply: Message,
    candidates: Sequence[Candidate],
    winner_id: int | None,
    conversations: _Conversations,
    fmt: Format,
    min_score: float,
) -> dict[str, Any] | str:
    choice = _choose(signal, candidates, winner_id, min_score)
    if isinstance(choice, str):
        return choice
    chosen, chosen_row, source = choice
    rejected = _rejected(candidates, chosen, chosen_row) if fmt == "dpo" else None
    if fmt == "dpo" and rejected is None:
        return SKIP_NO_REJECTED
    messages, scrub = await conversations.get(reply.conversation_id)
    question_id = reply.reply_to_id or reply.id
    before = [m for m in messages if m.id < question_id]
    question = next((m.content for m in messages if m.id == question_id), signal.prompt)
    passages = await _chunks(session, signal.passage_ids)
    meta: dict[str, Any] = {
        "signal_id": signal.id,
        "message_id": reply.id,
        "agent": signal.agent,
        "source": source,
        "chosen_model": f"{chosen_row.provider}:{chosen_row.model}" if chosen_row else "staff",
        "consensus": signal.consensus,
        "knowledge_version": signal.knowledge_version,
        "prompt_version": signal.prompt_version,
    }
    record: dict[str, Any] = {"prompt": _prompt(question, passages, before, scrub)}
    if rejected is not None:
        record["chosen"] = scrub(chosen)
        record["rejected"] = scrub(rejected.text or "")
        meta["rejected_model"] = f"{rejected.provider}:{rejected.model}"
    else:
        record["completion"] = scrub(chosen)
    record["meta"] = meta
    return record
