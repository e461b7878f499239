"""The turn cache: a checked `send` reply is reused for the same question until the prompt or
the knowledge behind it changes; a hit is a recorded turn with exactly one training signal.

`runtime` comes before `session` in every test: the app's teardown truncates the tables, which
must wait for nothing the test's session still holds.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.helpers import GROUNDED, HALLUCINATED, count_rows
from tests.support.scripted import ScriptedProvider
from triad.conversations import service
from triad.db.models import (
    CacheEntry,
    CacheHit,
    CriticEvaluation,
    Message,
    ProviderCall,
    TrainingSignal,
)
from triad.knowledge.embedding import Embedder
from triad.knowledge.ingest import ingest_path
from triad.routing.cache import CacheConfig, CacheStore
from triad.routing.turn_cache import TurnCache
from triad.runtime import Runtime
from triad.settings import Settings

WAGYU = "Do you serve wagyu beef?"


@dataclass
class Roles:
    teacher: ScriptedProvider
    student: ScriptedProvider

    @property
    def calls(self) -> int:
        return len(self.teacher.history) + len(self.student.history)


def script(runtime: Runtime, teacher: str, student: str) -> Roles:
    profile = runtime.config.active(runtime.settings.ensemble_profile)
    roles = Roles(ScriptedProvider(teacher), ScriptedProvider(student))
    runtime.use_provider(profile.teacher.model, roles.teacher)
    runtime.use_provider(profile.student.model, roles.student)
    return roles


@pytest.fixture
def cache(settings: Settings, embedder: Embedder) -> TurnCache:
    return TurnCache(CacheStore(CacheConfig.from_yaml(settings.cache_config), embedder))


async def ask(
    session: AsyncSession,
    runtime: Runtime,
    embedder: Embedder,
    cache: TurnCache,
    text: str,
    *,
    agent: str = "menu",
    lessons: Sequence[str] = (),
    conversation_id: object = None,
) -> service.TurnOutcome:
    """One turn in a new conversation (or in `conversation_id`'s)."""
    if conversation_id is None:
        conversation, _ = await service.create_conversation(
            session, tenant=runtime.settings.tenant, agent=agent, customer_ref=None
        )
    else:
        from triad.db.models import Conversation

        found = await session.get(Conversation, conversation_id)
        assert found is not None
        conversation = found
    return await service.answer_turn(
        session,
        conversation=conversation,
        text=text,
        agent=None,
        ensemble=runtime.ensemble,
        selector=runtime.selector,
        lesson_limit=runtime.prompt_lessons,
        embedder=embedder,
        user_id="u1",
        lessons=lessons,
        cache=cache,
    )


async def test_a_repeated_question_is_served_from_the_cache_as_a_checked_turn(
    runtime: Runtime, session: AsyncSession, embedder: Embedder, cache: TurnCache, demo: None
) -> None:
    roles = script(runtime, GROUNDED, GROUNDED)
    first = await ask(session, runtime, embedder, cache, WAGYU)
    assert first.result.decision == "send" and not first.cached
    assert await count_rows(session, CacheEntry) == 1
    called = roles.calls

    second = await ask(session, runtime, embedder, cache, "do you serve WAGYU beef")
    assert second.cached and roles.calls == called  # no model was asked
    assert second.reply.content == first.reply.content
    assert second.result.decision == "send" and second.escalation is None

    signals = (await session.scalars(select(TrainingSignal).order_by(TrainingSignal.id))).all()
    assert [s.message_id for s in signals] == [first.reply.id, second.reply.id]
    cached = signals[1]
    assert (cached.decision, cached.winner) == ("send", "cache")
    assert cached.consensus == signals[0].consensus >= runtime.config.consensus_threshold
    assert cached.passage_ids == signals[0].passage_ids
    assert cached.knowledge_version == 1 and cached.prompt_version == signals[0].prompt_version
    assert cached.candidates[0]["checked_in_message"] == first.reply.id
    assert await count_rows(session, CriticEvaluation) == 1  # checked once, when stored

    row = await session.scalar(select(ProviderCall).where(ProviderCall.outcome == "cache_hit"))
    assert row is not None and row.message_id == second.reply.id and row.cost_usd == 0
    hit = await session.scalar(select(CacheHit))
    assert hit is not None and hit.kind == "exact" and hit.message_id == second.reply.id
    spent = await session.scalars(
        select(ProviderCall.cost_usd).where(ProviderCall.message_id == first.reply.id)
    )
    assert hit.saved_usd == pytest.approx(sum(spent))
    messages = (await session.scalars(select(Message).order_by(Message.id))).all()
    assert [m.role for m in messages] == ["customer", "assistant"] * 2


async def test_a_paraphrase_is_a_semantic_hit(
    runtime: Runtime, session: AsyncSession, embedder: Embedder, cache: TurnCache, demo: None
) -> None:
    roles = script(runtime, GROUNDED, GROUNDED)
    await ask(session, runtime, embedder, cache, WAGYU)
    called = roles.calls
    paraphrase = await ask(session, runtime, embedder, cache, "Do you serve any wagyu beef?")
    assert paraphrase.cached and roles.calls == called
    hit = await session.scalar(select(CacheHit))
    assert hit is not None and hit.kind == "semantic" and (hit.similarity or 0) >= 0.95


async def test_changed_knowledge_is_a_miss(
    runtime: Runtime,
    session: AsyncSession,
    embedder: Embedder,
    cache: TurnCache,
    settings: Settings,
    demo: None,
    tmp_path: Path,
) -> None:
    roles = script(runtime, GROUNDED, GROUNDED)
    await ask(session, runtime, embedder, cache, WAGYU)
    assert (await ask(session, runtime, embedder, cache, WAGYU)).cached

    changed = tmp_path / "knowledge"
    shutil.copytree(settings.knowledge_dir, changed)
    menu = changed / "menu.md"
    menu.write_text(menu.read_text() + "\n\nWe now also serve duck breast.\n")
    report = await ingest_path(
        session,
        changed,
        tenant=settings.tenant,
        embedder=embedder,
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
    )
    assert report.version == 2 and report.changed == ["menu.md"]

    called = roles.calls
    fresh = await ask(session, runtime, embedder, cache, WAGYU)
    assert not fresh.cached and roles.calls == called + 2
    assert fresh.result.knowledge_version == 2
    again = await ask(session, runtime, embedder, cache, WAGYU)
    assert again.cached and again.result.knowledge_version == 2


async def test_a_changed_prompt_is_a_miss(
    runtime: Runtime, session: AsyncSession, embedder: Embedder, cache: TurnCache, demo: None
) -> None:
    roles = script(runtime, GROUNDED, GROUNDED)
    await ask(session, runtime, embedder, cache, WAGYU)
    called = roles.calls
    lesson = ["Name the steak as NY strip."]
    fresh = await ask(session, runtime, embedder, cache, WAGYU, lessons=lesson)
    assert not fresh.cached and roles.calls == called + 2
    assert (await ask(session, runtime, embedder, cache, WAGYU, lessons=lesson)).cached


async def test_only_clean_first_questions_are_stored(
    runtime: Runtime, session: AsyncSession, embedder: Embedder, cache: TurnCache, demo: None
) -> None:
    script(runtime, HALLUCINATED, HALLUCINATED)
    held = await ask(session, runtime, embedder, cache, WAGYU)
    assert held.result.decision != "send"
    assert await count_rows(session, CacheEntry) == 0

    script(runtime, GROUNDED, GROUNDED)
    first = await ask(session, runtime, embedder, cache, "Do you have a kids menu?")
    follow_up = await ask(
        session,
        runtime,
        embedder,
        cache,
        WAGYU,
        conversation_id=first.question.conversation_id,
    )
    assert not follow_up.cached and follow_up.result.decision == "send"
    stored = (await session.scalars(select(CacheEntry.question))).all()
    assert "do you serve wagyu beef" not in stored


async def test_agents_with_ttl_zero_are_never_cached(
    runtime: Runtime, session: AsyncSession, embedder: Embedder, cache: TurnCache, demo: None
) -> None:
    assert cache.entries.config.ttl("booking") == 0
    scope = cache.scope_for(
        tenant="demo",
        agent="booking",
        question=WAGYU,
        prompt_version="booking.v1",
        knowledge_version=1,
        facts=[],
    )
    assert scope is None
    roles = script(runtime, GROUNDED, GROUNDED)
    await ask(session, runtime, embedder, cache, WAGYU, agent="booking")
    called = roles.calls
    again = await ask(session, runtime, embedder, cache, WAGYU, agent="booking")
    assert not again.cached and roles.calls > called
    assert await count_rows(session, CacheEntry) == 0
