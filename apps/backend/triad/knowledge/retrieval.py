"""Hybrid retrieval: pgvector cosine neighbours and PostgreSQL full text, fused by rank.

Each side contributes its top `candidates` chunks; reciprocal rank fusion (Cormack et al.,
k=60) adds 1/(60 + rank) per side, so a passage both sides like beats one only a side likes,
and neither side's raw scores need calibrating against the other's.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from triad.db.models import KnowledgeChunk, KnowledgeDocument
from triad.errors import InputError
from triad.knowledge.embedding import TextEmbedder
from triad.providers.base import ContextPassage

RRF_K = 60
_WORD = re.compile(r"\w+")


class Passage(BaseModel):
    """A retrieved chunk with the evidence of why it was chosen."""

    model_config = ConfigDict(frozen=True, use_attribute_docstrings=True)

    chunk_id: int
    text: str
    source: str
    heading_path: str
    score: float
    """Fused reciprocal-rank score; only meaningful relative to other passages of one query."""
    vector_score: float
    """Cosine similarity between the query and the chunk, -1..1."""
    vector_rank: int | None = None
    """1-based position among the vector candidates, None when not among them."""
    text_score: float | None = None
    """`ts_rank_cd` of the full-text match, None when no query term matched."""
    text_rank: int | None = None
    """1-based position among the full-text candidates, None when not among them."""

    def to_context(self) -> ContextPassage:
        """The shape model adapters receive."""
        return ContextPassage(
            text=self.text,
            source=self.source,
            heading_path=self.heading_path,
            chunk_id=self.chunk_id,
            score=self.score,
        )


def to_context_passages(passages: Sequence[Passage]) -> list[ContextPassage]:
    """Convert retrieved passages for a `CompletionRequest.context`."""
    return [p.to_context() for p in passages]


def text_query(query: str) -> str:
    """The query's words joined with " or ", so any matching term counts in
    `websearch_to_tsquery` and punctuation such as a leading '-' cannot negate a term."""
    return " or ".join(w for w in _WORD.findall(query) if w.lower() != "or")


async def retrieve(
    session: AsyncSession,
    query: str,
    *,
    tenant: str,
    embedder: TextEmbedder,
    sources: Sequence[str] | None = None,
    k: int = 5,
    candidates: int = 20,
    outside: int = 0,
) -> list[Passage]:
    """The `k` best passages of the tenant's knowledge for `query`, best first; `sources`
    (names or glob patterns such as "menu*.md") limits the search to matching documents.

    `outside` makes `sources` a preference rather than a wall: a passage of another document
    still joins when it ranks among the `outside` best of the whole knowledge base, so a
    question the agent choice got wrong ("plates" is a menu word, bringing plates a booking
    rule) still reaches the passage that answers it."""
    if not query or not query.strip():
        raise InputError("query must not be empty")
    if k < 1:
        raise InputError(f"k must be at least 1, got {k}")
    if candidates < 1:
        raise InputError(f"candidates must be at least 1, got {candidates}")
    candidates = max(candidates, k)

    if outside < 0:
        raise InputError(f"outside must not be negative, got {outside}")
    scope: list[ColumnElement[bool]] = [KnowledgeChunk.tenant == tenant]
    in_scope: set[int] | None = None
    if sources is not None:
        document_ids = await _documents_in_scope(session, tenant, sources)
        if not document_ids and not outside:
            return []
        if outside:
            in_scope = set(document_ids)
        else:
            scope.append(KnowledgeChunk.document_id.in_(document_ids))

    vector = (await embedder.aembed([query.strip()]))[0]
    distance = KnowledgeChunk.embedding.cosine_distance(vector)
    nearest = await _vector_candidates(session, scope, distance, candidates)
    matched = await _text_candidates(session, scope, distance, query, candidates)

    distances = {chunk_id: d for chunk_id, d in nearest} | {c: d for c, d, _ in matched}
    vector_ranks = {chunk_id: rank for rank, (chunk_id, _) in enumerate(nearest, 1)}
    text_ranks = {chunk_id: rank for rank, (chunk_id, _, _) in enumerate(matched, 1)}
    text_scores = {chunk_id: value for chunk_id, _, value in matched}
    fused: dict[int, float] = {}
    for ranks in (vector_ranks, text_ranks):
        for chunk_id, rank in ranks.items():
            fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
    ranked = sorted(fused, key=lambda c: (-fused[c], distances[c], c))
    # one round trip: with `outside`, every candidate's document decides whether it may stay
    wanted = ranked if in_scope is not None else ranked[:k]
    if not wanted:
        return []
    rows = await session.execute(
        select(
            KnowledgeChunk.id,
            KnowledgeChunk.document_id,
            KnowledgeChunk.content,
            KnowledgeChunk.heading_path,
            KnowledgeDocument.source,
        )
        .join(KnowledgeDocument, KnowledgeDocument.id == KnowledgeChunk.document_id)
        .where(KnowledgeChunk.id.in_(wanted))
    )
    found = {row.id: row for row in rows}
    if in_scope is not None:
        ranked = [
            c
            for rank, c in enumerate(ranked)
            if c in found and (found[c].document_id in in_scope or rank < outside)
        ]
    best = ranked[:k]
    return [
        Passage(
            chunk_id=chunk_id,
            text=found[chunk_id].content,
            source=found[chunk_id].source,
            heading_path=found[chunk_id].heading_path,
            score=fused[chunk_id],
            vector_score=1.0 - distances[chunk_id],
            vector_rank=vector_ranks.get(chunk_id),
            text_score=text_scores.get(chunk_id),
            text_rank=text_ranks.get(chunk_id),
        )
        for chunk_id in best
        if chunk_id in found
    ]


async def _vector_candidates(
    session: AsyncSession,
    scope: list[ColumnElement[bool]],
    distance: ColumnElement[float],
    candidates: int,
) -> list[tuple[int, float]]:
    """(chunk id, cosine distance) of the nearest chunks, nearest first."""
    # pgvector 0.6 filters HNSW results after the scan; a wider beam keeps `candidates` rows
    # after the tenant/scope filter. is_local=true: it lasts until this transaction ends.
    await session.execute(
        text("SELECT set_config('hnsw.ef_search', :value, true)"),
        {"value": str(min(1000, max(40, candidates * 10)))},
    )
    # ORDER BY the distance alone, so PostgreSQL can walk the HNSW index; ties sorted here.
    rows = await session.execute(
        select(KnowledgeChunk.id, distance).where(*scope).order_by(distance).limit(candidates)
    )
    return sorted(((chunk_id, float(d)) for chunk_id, d in rows), key=lambda r: (r[1], r[0]))


async def _text_candidates(
    session: AsyncSession,
    scope: list[ColumnElement[bool]],
    distance: ColumnElement[float],
    query: str,
    candidates: int,
) -> list[tuple[int, float, float]]:
    """(chunk id, cosine distance, ts_rank_cd) of chunks matching any query term, best first;
    equal text ranks are ordered by the vector distance, which is more telling than an id."""
    words = text_query(query)
    if not words:
        return []
    tsquery = func.websearch_to_tsquery("english", words)
    rank_cd = func.ts_rank_cd(KnowledgeChunk.tsv, tsquery)
    rows = await session.execute(
        select(KnowledgeChunk.id, distance, rank_cd)
        .where(*scope, KnowledgeChunk.tsv.op("@@")(tsquery))
        .order_by(rank_cd.desc(), distance, KnowledgeChunk.id)
        .limit(candidates)
    )
    return [(chunk_id, float(d), float(r)) for chunk_id, d, r in rows]


async def _documents_in_scope(
    session: AsyncSession, tenant: str, patterns: Sequence[str]
) -> list[int]:
    """Ids of the tenant's documents whose source equals or glob-matches one of `patterns`."""
    wanted = [patterns] if isinstance(patterns, str) else list(patterns)
    rows = await session.execute(
        select(KnowledgeDocument.id, KnowledgeDocument.source).where(
            KnowledgeDocument.tenant == tenant
        )
    )
    return sorted(
        doc_id
        for doc_id, source in rows
        if any(fnmatch.fnmatchcase(source, pattern) for pattern in wanted)
    )
