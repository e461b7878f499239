"""The LLM lesson writer: its lesson is stored when the reply is a valid lesson; a garbled reply
or a failing model leaves the deterministic lesson instead, and the night still succeeds."""

from __future__ import annotations

import dataclasses
import json

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.dialogue.helpers import deps_of, enable, run_today, seed_wagyu, today
from tests.support.scripted import Script, ScriptedProvider
from triad.db.models import Lesson
from triad.dialogue.config import DialogueConfig
from triad.dialogue.deps import lesson_writer
from triad.dialogue.learn import learn
from triad.dialogue.writer import DeterministicWriter, LLMWriter, parse_lesson
from triad.errors import ProviderUnavailableError
from triad.runtime import Runtime

LESSON = {
    "title": "menu: no wagyu",
    "instruction": "Never offer wagyu beef: the steak on the menu is NY strip.",
}
WRONG_CLAIM = "we serve wagyu beef for $20 extra per plate"  # tests.api.helpers.HALLUCINATED


async def _lessons(session: AsyncSession) -> list[Lesson]:
    rows = await session.scalars(
        select(Lesson).order_by(Lesson.id).execution_options(populate_existing=True)
    )
    return list(rows)


async def _deterministic_instruction(app: FastAPI, session: AsyncSession) -> str:
    """What the offline writer makes of today's cases (learned, then rolled back)."""
    deps = deps_of(app)
    stats = await learn(
        session, tenant="demo", day=today(app), zone=deps.config.zone,
        consensus_threshold=deps.consensus_threshold,
        group_threshold=deps.config.group_threshold,
        duplicate_cosine=deps.config.duplicate_cosine, max_cases=deps.config.max_cases,
        embedder=deps.embedder, writer=DeterministicWriter(), sources=deps.sources, run_id=None,
    )  # fmt: skip
    assert len(stats.proposed) == 1 and stats.writers == {"deterministic": 1}
    lesson = await session.get(Lesson, stats.proposed[0])
    assert lesson is not None
    instruction = lesson.instruction
    await session.rollback()
    return instruction


async def test_a_valid_reply_is_the_stored_lesson_and_the_prompt_shows_the_evidence(
    app: FastAPI, runtime: Runtime, client: httpx.AsyncClient, demo: None, session: AsyncSession
) -> None:
    await seed_wagyu(runtime, client)
    await enable(session)
    model = ScriptedProvider("Here it is:\n" + json.dumps(LESSON) + "\nHope it helps.")
    writer = LLMWriter(model, model_id="scripted:writer")
    outcome = await run_today(app, dataclasses.replace(deps_of(app), writer=writer))
    assert outcome.outcome == "succeeded", outcome.message
    assert outcome.stats["writers"] == {"llm:scripted:writer": 1}

    (lesson,) = await _lessons(session)
    assert (lesson.title, lesson.instruction) == (LESSON["title"], LESSON["instruction"])
    assert lesson.status == "proposed" and lesson.error_kind in ("unsupported", "contradicted")

    (request,) = model.history
    system, user = request.messages
    assert system.role == "system" and "JSON" in system.content
    assert user.role == "user"
    assert WRONG_CLAIM in user.content.lower()  # the wrong claim
    assert lesson.evidence_passage and lesson.evidence_passage in user.content  # the evidence
    assert "not serve wagyu" in lesson.evidence_passage  # ... that contradicts it
    assert request.temperature == 0.0


@pytest.mark.parametrize(
    "reply",
    [
        "Sorry, I cannot help with that.",  # no JSON at all
        '{"title": "no wagyu"}',  # no instruction
        '{"title": "", "instruction": "Never offer wagyu."}',  # blank title
        '{"title": "no wagyu", "instruction": "Never offer wagyu."',  # cut off
        ProviderUnavailableError("writer model down"),
    ],
    ids=["prose", "missing-field", "blank-title", "truncated", "provider-error"],
)
async def test_an_unusable_reply_falls_back_to_the_deterministic_lesson(
    app: FastAPI,
    runtime: Runtime,
    client: httpx.AsyncClient,
    demo: None,
    session: AsyncSession,
    reply: Script,
) -> None:
    await seed_wagyu(runtime, client)
    await enable(session)
    expected = await _deterministic_instruction(app, session)
    model = ScriptedProvider(reply)
    writer = LLMWriter(model, model_id="scripted:writer")
    outcome = await run_today(app, dataclasses.replace(deps_of(app), writer=writer))
    assert outcome.outcome == "succeeded", outcome.message
    assert outcome.stats["writers"] == {"deterministic": 1}
    assert len(model.history) == 1  # the model was asked, and its answer not used
    (lesson,) = await _lessons(session)
    assert lesson.instruction == expected
    assert "wagyu" in lesson.instruction.lower()


def test_parse_lesson_takes_the_json_object_and_ignores_extra_keys() -> None:
    reply = parse_lesson('Sure! {"title": " t ", "instruction": "Do X.", "why": "because"}')
    assert (reply.title, reply.instruction) == (" t ", "Do X.")
    for bad in ("no json here", '{"title": "t"}', '{"title": "t", "instruction": 3}', "{oops}"):
        with pytest.raises(ValueError):
            parse_lesson(bad)
    with pytest.raises(ValueError):
        parse_lesson(json.dumps({"title": "t", "instruction": "x" * 601}))


async def test_lesson_writer_uses_the_configured_model_when_it_can(runtime: Runtime) -> None:
    # no writer model: the offline writer
    assert isinstance(lesson_writer(runtime, DialogueConfig(critic=None)), DeterministicWriter)
    # `judge` with the offline profile (no judge): the offline writer
    assert runtime.config.active(runtime.settings.ensemble_profile).judge is None
    assert isinstance(lesson_writer(runtime, DialogueConfig(critic="judge")), DeterministicWriter)
    # a model whose key is missing: the offline writer, not a failure at startup
    missing = lesson_writer(runtime, DialogueConfig(critic="xai:grok-2-latest"))
    assert isinstance(missing, DeterministicWriter)
    # a usable model: the LLM writer on that model's adapter
    scripted = ScriptedProvider(json.dumps(LESSON))
    runtime.use_provider("openai:gpt-4o-mini", scripted)
    writer = lesson_writer(runtime, DialogueConfig(critic="openai:gpt-4o-mini"))
    assert isinstance(writer, LLMWriter)
    assert writer.provider is scripted and writer.model_id == "openai:gpt-4o-mini"
