"""Seeding days of turns through the real chat API and running the dialogue on them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.helpers import GROUNDED, HALLUCINATED, new_turn, script_roles
from triad import flags
from triad.dialogue.grouping import CaseGroup
from triad.dialogue.job import DialogueDeps, RunOutcome, run_dialogue
from triad.dialogue.writer import Evidence, LessonDraft, deterministic_lesson
from triad.runtime import Runtime

WAGYU_QUESTION = "Do you serve wagyu beef?"


async def ask(client: httpx.AsyncClient, question: str) -> dict[str, Any]:
    """One customer turn in a new chat session."""
    return await new_turn(client, question)


async def seed_wagyu(runtime: Runtime, client: httpx.AsyncClient, turns: int = 1) -> None:
    """Turns where the teacher is grounded and the student claims wagyu is served.

    The teacher's answer is sent (the student's is a training signal, not a staff case), and a
    sent reply would be reused from the turn cache: without it every turn asks both models, so
    each seeded turn (and any later one of the test) is a fresh case of the student's mistake.
    """
    runtime.turn_cache = None
    script_roles(runtime, GROUNDED, HALLUCINATED)
    for _ in range(turns):
        await ask(client, WAGYU_QUESTION)


def deps_of(app: FastAPI) -> DialogueDeps:
    deps: DialogueDeps = app.state.dialogue
    return deps


def today(app: FastAPI) -> date:
    return datetime.now(deps_of(app).config.zone).date()


async def enable(session: AsyncSession, threshold: int = 1) -> None:
    await flags.set_flag(
        session, flags.LLM_DIALOGUE, enabled=True, value={"activation_threshold": threshold}
    )


async def run_today(app: FastAPI, deps: DialogueDeps | None = None) -> RunOutcome:
    return await run_dialogue(
        deps or deps_of(app), tenant="demo", run_date=today(app), trigger="manual"
    )


class GatedWriter:
    """The deterministic writer, held at a gate so a test can act while a run is inside."""

    def __init__(self) -> None:
        self.inside = asyncio.Event()
        self.gate = asyncio.Event()

    async def write(
        self, group: CaseGroup, terms: Sequence[str], evidence: Evidence | None
    ) -> LessonDraft:
        self.inside.set()
        await asyncio.wait_for(self.gate.wait(), timeout=30)
        return deterministic_lesson(group, terms, evidence)


class FailingWriter:
    """A writer that crashes, standing in for a run that dies half-way."""

    async def write(
        self, group: CaseGroup, terms: Sequence[str], evidence: Evidence | None
    ) -> LessonDraft:
        raise RuntimeError("writer crashed")
