"""Hybrid retrieval puts the passage that answers the question first, within the asked scope."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from triad.errors import InputError
from triad.knowledge.embedding import Embedder
from triad.knowledge.ingest import ingest_path
from triad.knowledge.retrieval import Passage, retrieve, text_query, to_context_passages
from triad.providers.base import ContextPassage
from triad.settings import Settings


@pytest.fixture
async def demo(session: AsyncSession, settings: Settings, embedder: Embedder) -> AsyncSession:
    """The session, with the demo tenant's knowledge base ingested."""
    await ingest_path(
        session,
        settings.knowledge_dir,
        tenant="demo",
        embedder=embedder,
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
    )
    return session


async def _ask(
    session: AsyncSession,
    embedder: Embedder,
    query: str,
    *,
    sources: list[str] | None = None,
    k: int = 5,
) -> list[Passage]:
    return await retrieve(session, query, tenant="demo", embedder=embedder, sources=sources, k=k)


async def test_wagyu_finds_not_on_the_menu_first(demo: AsyncSession, embedder: Embedder) -> None:
    passages = await _ask(demo, embedder, "Do you serve wagyu?")
    first = passages[0]
    assert first.source == "menu.md"
    assert first.heading_path == "Ember & Tide Hibachi — Menu > Not on the menu"
    assert "wagyu" in first.text
    assert (first.vector_rank, first.text_rank) == (1, 1)
    assert first.score > passages[1].score


async def test_deposit_finds_deposit_and_payment_first(
    demo: AsyncSession, embedder: Embedder
) -> None:
    passages = await _ask(demo, embedder, "what is the deposit")
    first = passages[0]
    assert first.heading_path.endswith("Deposit and payment")
    assert first.source == "pricing.md"
    assert "$100 deposit" in first.text
    assert first.score > passages[1].score


async def test_results_carry_both_signals_and_are_deterministic(
    demo: AsyncSession, embedder: Embedder
) -> None:
    passages = await _ask(demo, embedder, "Can I cancel my booking?", k=6)
    assert len(passages) == 6
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    assert len({p.chunk_id for p in passages}) == 6
    for p in passages:
        assert -1.0 <= p.vector_score <= 1.0
        assert p.vector_rank is not None or p.text_rank is not None
        assert (p.text_rank is None) == (p.text_score is None)
    assert await _ask(demo, embedder, "Can I cancel my booking?", k=6) == passages


async def test_scope_keeps_other_sources_out(demo: AsyncSession, embedder: Embedder) -> None:
    booking = await _ask(demo, embedder, "deposit", sources=["booking.md"], k=10)
    assert booking
    assert {p.source for p in booking} == {"booking.md"}
    assert booking[0].heading_path.endswith("Changes and cancellations")

    globbed = await _ask(demo, embedder, "deposit", sources=["pric*.md", "service_*"], k=30)
    assert {p.source for p in globbed} == {"pricing.md", "service_area.md"}

    assert await _ask(demo, embedder, "deposit", sources=["nothing*.md"]) == []
    assert await _ask(demo, embedder, "deposit", sources=[]) == []


async def test_other_tenants_see_nothing(demo: AsyncSession, embedder: Embedder) -> None:
    assert await retrieve(demo, "deposit", tenant="someone-else", embedder=embedder) == []


async def test_a_query_without_searchable_words_still_uses_vectors(
    demo: AsyncSession, embedder: Embedder
) -> None:
    passages = await _ask(demo, embedder, "the?", k=3)
    assert len(passages) == 3
    assert all(p.text_rank is None and p.vector_rank is not None for p in passages)


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
async def test_blank_queries_are_refused(
    session: AsyncSession, embedder: Embedder, query: str
) -> None:
    with pytest.raises(InputError, match="query must not be empty"):
        await _ask(session, embedder, query)


async def test_bad_k_is_refused(session: AsyncSession, embedder: Embedder) -> None:
    with pytest.raises(InputError, match="k must be at least 1"):
        await _ask(session, embedder, "deposit", k=0)


def test_text_query_ors_the_words_and_cannot_negate() -> None:
    assert text_query("Do you serve -wagyu or sushi?") == "Do or you or serve or wagyu or sushi"
    assert text_query("?!") == ""


async def test_passages_convert_to_context_passages(demo: AsyncSession, embedder: Embedder) -> None:
    passages = await _ask(demo, embedder, "Do you serve wagyu?", k=2)
    context = to_context_passages(passages)
    assert all(isinstance(c, ContextPassage) for c in context)
    assert context[0] == ContextPassage(
        text=passages[0].text,
        source="menu.md",
        heading_path=passages[0].heading_path,
        chunk_id=passages[0].chunk_id,
        score=passages[0].score,
    )


async def test_outside_lets_the_best_passages_of_other_documents_join(
    demo: AsyncSession, embedder: Embedder
) -> None:
    question = "Do I need to supply plates and utensils?"
    menu_only = await retrieve(
        demo, question, tenant="demo", embedder=embedder, sources=["menu.md", "pricing.md"]
    )
    assert {p.source for p in menu_only} <= {"menu.md", "pricing.md"}
    assert not any("utensils" in p.text for p in menu_only)

    preferred = await retrieve(
        demo,
        question,
        tenant="demo",
        embedder=embedder,
        sources=["menu.md", "pricing.md"],
        outside=2,
    )
    joined = [p for p in preferred if p.source not in ("menu.md", "pricing.md")]
    assert joined and all(p.source == "booking.md" for p in joined)
    assert any("plates and utensils" in p.text for p in joined)
    assert len(joined) <= 2 and len(preferred) == 5
    # the other passages are still the agent's own, its best one among them
    own = [p.chunk_id for p in preferred if p.source in ("menu.md", "pricing.md")]
    assert own[0] == menu_only[0].chunk_id

    with pytest.raises(InputError, match="outside"):
        await retrieve(demo, question, tenant="demo", embedder=embedder, outside=-1)
