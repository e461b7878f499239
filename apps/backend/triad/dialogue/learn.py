"""One night's learning: the day's cases, grouped, each group turned into a proposed lesson.

Runs inside the caller's transaction (the job commits it together with the run's status), so a
failure leaves no half-written lessons.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from triad.db.models import KnowledgeChunk, Lesson
from triad.dialogue.cases import find_cases
from triad.dialogue.grouping import CaseGroup, group_cases
from triad.dialogue.writer import (
    Evidence,
    LessonWriter,
    content_terms,
    distinctive_terms,
    evidence_sentence,
    scrubbed,
)
from triad.knowledge.embedding import TextEmbedder
from triad.knowledge.retrieval import retrieve

EVIDENCE_K = 5


@dataclass
class LearnStats:
    """What one night found and did."""

    cases: int = 0
    groups: int = 0
    proposed: list[int] = field(default_factory=list)
    merged: list[int] = field(default_factory=list)
    writers: Counter[str] = field(default_factory=Counter)


async def document_frequency(session: AsyncSession, tenant: str) -> Counter[str]:
    """How many of the tenant's knowledge chunks mention each word."""
    counts: Counter[str] = Counter()
    for content in await session.scalars(
        select(KnowledgeChunk.content).where(KnowledgeChunk.tenant == tenant)
    ):
        counts.update(set(content_terms(content)))
    return counts


async def find_evidence(
    session: AsyncSession,
    query: str,
    terms: Sequence[str],
    *,
    tenant: str,
    embedder: TextEmbedder,
    sources: Sequence[str] | None,
) -> Evidence | None:
    """The retrieved passage that mentions the most distinctive terms (retrieval order breaks
    ties), so the passage shown is the one that speaks about what the claim got wrong."""
    passages = await retrieve(
        session, query, tenant=tenant, embedder=embedder, sources=sources, k=EVIDENCE_K
    )
    if not passages:
        return None
    scored = [
        (evidence_sentence(Evidence(p.chunk_id, p.text), terms) is not None, p) for p in passages
    ]
    best = next((p for hit, p in scored if hit), passages[0])
    return Evidence(best.chunk_id, best.text, best.heading_path)


def _duplicate(
    existing: Sequence[Lesson], terms: Sequence[str], vector: Any, cosine: float
) -> Lesson | None:
    for lesson in existing:
        if terms and sorted(lesson.match_terms) == sorted(terms):
            return lesson
        if lesson.embedding is not None:
            similarity = float(np.dot(np.asarray(lesson.embedding, dtype=np.float32), vector))
            if similarity > cosine:
                return lesson
    return None


async def learn(
    session: AsyncSession,
    *,
    tenant: str,
    day: date,
    zone: ZoneInfo,
    consensus_threshold: float,
    group_threshold: float,
    duplicate_cosine: float,
    max_cases: int,
    embedder: TextEmbedder,
    writer: LessonWriter,
    sources: Mapping[str, Sequence[str]],
    run_id: int | None,
    progress: Callable[[str], None] | None = None,
) -> LearnStats:
    """Propose one lesson per new pattern of the day's mistakes; merge known ones."""
    say = progress or (lambda _: None)
    stats = LearnStats()
    cases = await find_cases(
        session, tenant=tenant, day=day, zone=zone, threshold=consensus_threshold, limit=max_cases
    )
    stats.cases = len(cases)
    say(f"{len(cases)} cases on {day.isoformat()}")
    if not cases:
        return stats
    vectors = await embedder.aembed([c.subject for c in cases])
    # scrubbed before terms, claims and embeddings are taken: lessons reach every prompt
    groups = [scrubbed(g) for g in group_cases(cases, vectors, threshold=group_threshold)]
    stats.groups = len(groups)
    say(f"{len(groups)} groups")
    frequency = await document_frequency(session, tenant)
    existing = list(
        await session.scalars(
            select(Lesson)
            .where(Lesson.tenant == tenant, Lesson.status.in_(("proposed", "approved")))
            .order_by(Lesson.id)
        )
    )
    for index, group in enumerate(groups, 1):
        lesson = await _lesson_for(
            session, group, tenant=tenant, frequency=frequency, embedder=embedder,
            writer=writer, sources=sources.get(group.agent), run_id=run_id,
            existing=[e for e in existing if e.agent == group.agent],
            duplicate_cosine=duplicate_cosine, stats=stats,
        )  # fmt: skip
        if lesson is not None:
            existing.append(lesson)
        say(f"group {index}/{len(groups)} done")
    return stats


async def _lesson_for(
    session: AsyncSession,
    group: CaseGroup,
    *,
    tenant: str,
    frequency: Counter[str],
    embedder: TextEmbedder,
    writer: LessonWriter,
    sources: Sequence[str] | None,
    run_id: int | None,
    existing: Sequence[Lesson],
    duplicate_cosine: float,
    stats: LearnStats,
) -> Lesson | None:
    """A new proposed lesson for `group`, or None when it merged into a known lesson."""
    case = group.representative
    terms = distinctive_terms(case.claim or case.question, frequency)
    evidence = await find_evidence(
        session, case.subject, terms, tenant=tenant, embedder=embedder, sources=sources
    )
    draft = await writer.write(group, terms, evidence)
    stats.writers[draft.written_by] += 1
    vector = (await embedder.aembed([f"{draft.instruction} {case.claim}".strip()]))[0]
    known = _duplicate(existing, terms, vector, duplicate_cosine)
    if known is not None:
        fresh = [i for i in group.signal_ids if i not in set(known.evidence_signal_ids)]
        if fresh:
            known.evidence_signal_ids = [*known.evidence_signal_ids, *fresh]
            known.case_count += len(fresh)
        stats.merged.append(known.id)
        return None
    lesson = Lesson(
        tenant=tenant,
        agent=group.agent,
        status="proposed",
        title=draft.title,
        instruction=draft.instruction,
        erring_role=case.role,
        erring_model=case.model,
        wrong_claim=case.claim or None,
        evidence_passage=evidence.text if evidence else None,
        evidence_chunk_id=evidence.chunk_id if evidence else None,
        evidence_signal_ids=group.signal_ids,
        error_kind=case.kind,
        match_terms=list(terms),
        case_count=len(group.signal_ids),
        embedding=vector.tolist(),
        run_id=run_id,
    )
    session.add(lesson)
    await session.flush()
    stats.proposed.append(lesson.id)
    return lesson
