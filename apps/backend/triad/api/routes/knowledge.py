"""Knowledge search: what the agents would retrieve for a question, with scores."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from triad.api.deps import EmbedderDep, SessionDep, SettingsDep
from triad.knowledge.ingest import current_knowledge_version
from triad.knowledge.retrieval import Passage, retrieve

router = APIRouter(prefix="/knowledge", tags=["knowledge"])


class SearchResult(BaseModel):
    query: str
    knowledge_version: int
    passages: list[Passage]


@router.get("/search")
async def search(
    session: SessionDep,
    settings: SettingsDep,
    embedder: EmbedderDep,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="the question")],
    source: Annotated[
        list[str] | None, Query(description="limit to these sources (names or globs)")
    ] = None,
    k: Annotated[int, Query(ge=1, le=50)] = 5,
) -> SearchResult:
    """Hybrid retrieval (pgvector cosine + full text, fused by reciprocal rank)."""
    passages = await retrieve(
        session, q, tenant=settings.tenant, embedder=embedder, sources=source, k=k
    )
    version = await current_knowledge_version(session, settings.tenant)
    return SearchResult(query=q, knowledge_version=version, passages=passages)
