"""What the dialogue learns from a seeded wagyu disagreement, and how models then read it."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import ADMIN_HEADERS
from tests.api.helpers import GROUNDED, HALLUCINATED
from tests.dialogue.helpers import ask, deps_of, enable, run_today, seed_wagyu
from tests.support.scripted import ScriptedProvider
from triad.db.models import KnowledgeChunk, Lesson, TrainingSignal
from triad.dialogue.job import run_dialogue
from triad.runtime import Runtime

PROTEINS = ("chicken", "shrimp", "ny strip", "salmon", "tofu")


async def _only_lesson(session: AsyncSession) -> Lesson:
    lessons = list(await session.scalars(select(Lesson).execution_options(populate_existing=True)))
    assert len(lessons) == 1
    return lessons[0]


async def test_wagyu_disagreement_becomes_a_grounded_lesson(
    app: FastAPI, runtime: Runtime, client: httpx.AsyncClient, demo: None, session: AsyncSession
) -> None:
    await seed_wagyu(runtime, client)
    await enable(session)
    outcome = await run_today(app)
    assert outcome.outcome == "succeeded", outcome.message
    assert outcome.stats["lessons"] and outcome.stats["writers"] == {"deterministic": 1}

    lesson = await _only_lesson(session)
    signal_ids = list(await session.scalars(select(TrainingSignal.id)))
    instruction = lesson.instruction.lower()
    assert instruction.startswith("never offer wagyu")
    assert all(p in instruction for p in PROTEINS), lesson.instruction
    assert lesson.status == "proposed"
    assert lesson.evidence_signal_ids == signal_ids
    assert (lesson.erring_role, lesson.erring_model) == ("student", "local:smollm2-135m")
    assert lesson.wrong_claim == HALLUCINATED
    assert lesson.error_kind == "contradicted"
    assert "wagyu" in lesson.match_terms
    assert lesson.case_count == 1 and lesson.run_id == outcome.run_id
    assert lesson.embedding is not None and len(lesson.embedding) == 384
    assert "We do not serve wagyu beef" in (lesson.evidence_passage or "")
    chunk = await session.get(KnowledgeChunk, lesson.evidence_chunk_id)
    assert chunk is not None and "We do not serve wagyu beef" in chunk.content


async def test_a_known_mistake_adds_evidence_not_a_second_lesson(
    app: FastAPI, runtime: Runtime, client: httpx.AsyncClient, demo: None, session: AsyncSession
) -> None:
    await seed_wagyu(runtime, client, turns=2)
    await enable(session)
    assert (await run_today(app)).outcome == "succeeded"
    first = await _only_lesson(session)
    first_id, first_evidence = first.id, list(first.evidence_signal_ids)
    assert first.case_count == 2 and len(first_evidence) == 2

    await ask(client, "Can I get wagyu for my party?")
    newest = await session.scalar(select(func.max(TrainingSignal.id)))
    created = await session.scalar(
        select(TrainingSignal.created_at).where(TrainingSignal.id == newest)
    )
    assert newest is not None and created is not None
    earlier = created - timedelta(days=1)
    await session.execute(
        update(TrainingSignal).where(TrainingSignal.id == newest).values(created_at=earlier)
    )
    await session.commit()
    zone = deps_of(app).config.zone
    outcome = await run_dialogue(
        deps_of(app), tenant="demo", run_date=earlier.astimezone(zone).date(), trigger="manual"
    )
    assert outcome.outcome == "succeeded"
    assert outcome.stats["lessons"] == [] and outcome.stats["merged_into"] == [first_id]
    lesson = await _only_lesson(session)
    assert lesson.case_count == 3
    assert lesson.evidence_signal_ids == [*first_evidence, newest]


async def test_approval_puts_the_lesson_in_both_prompts(
    app: FastAPI, runtime: Runtime, client: httpx.AsyncClient, demo: None, session: AsyncSession
) -> None:
    await seed_wagyu(runtime, client)
    await enable(session)
    assert (await run_today(app)).outcome == "succeeded"
    lesson = await _only_lesson(session)

    profile = runtime.config.active(runtime.settings.ensemble_profile)
    teacher, student = ScriptedProvider(GROUNDED), ScriptedProvider(GROUNDED)
    runtime.use_provider(profile.teacher.model, teacher)
    runtime.use_provider(profile.student.model, student)

    await ask(client, "Is wagyu beef on your menu?")
    for provider in (teacher, student):
        assert lesson.instruction not in provider.history[-1].messages[0].content
    before = await session.scalar(
        select(TrainingSignal.prompt_version).order_by(TrainingSignal.id.desc())
    )

    approved = await client.post(f"/admin/api/lessons/{lesson.id}/approve", headers=ADMIN_HEADERS)
    assert approved.status_code == 200, approved.text

    await ask(client, "Could the chef bring wagyu steak?")
    for provider in (teacher, student):
        system = provider.history[-1].messages[0].content
        assert "Lessons from past mistakes" in system
        assert lesson.instruction in system
    after = await session.scalar(
        select(TrainingSignal.prompt_version)
        .order_by(TrainingSignal.id.desc())
        .execution_options(populate_existing=True)
    )
    assert before is not None and after is not None
    assert after != before and after.startswith(before) and "+L" in after
