"""The ensemble's roles go through the router: fallback, degraded replies, one row per attempt."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.routing.helpers import ANTHROPIC, EXTRACTIVE, LOCAL, OPENAI, FakeTime
from tests.support.scripted import ScriptedProvider
from triad.conversations.records import record_turn
from triad.db.models import Conversation, Message, ProviderCall
from triad.ensemble.core import TurnContext
from triad.errors import ProviderUnavailableError
from triad.knowledge.embedding import Embedder
from triad.knowledge.retrieval import Passage
from triad.routing.router import Router
from triad.runtime import Runtime, build_runtime
from triad.settings import Settings

GROUNDED = (
    "We do not serve wagyu beef. You can choose chicken, shrimp, NY strip steak, salmon or tofu."
)
HALLUCINATED = "Yes, we serve wagyu beef for $20 extra per plate."
NOT_ON_MENU = "We do not serve wagyu beef, sushi, sashimi, raw fish, or alcohol."
PROTEINS = "Chicken (marinated thigh meat), shrimp, NY strip steak, salmon and tofu."

ENSEMBLE = f"""
profile: test
profiles:
  test:
    teacher: {{model: "{OPENAI}"}}
    student: {{model: "{ANTHROPIC}"}}
"""
ROUTING = f"""
routes:
  default: {{low: ["{LOCAL}"], medium: ["{LOCAL}"], high: ["{LOCAL}"]}}
  chat.teacher: {{high: ["{ANTHROPIC}", "{EXTRACTIVE}"]}}
  chat.student: {{medium: ["{OPENAI}", "{LOCAL}"]}}
role_priority: {{teacher: high, student: medium}}
retry: {{max_attempts: 2}}
degraded_disclaimer: "(A backup model answered.)"
"""


async def _retriever(query: str, sources: Sequence[str]) -> tuple[list[Passage], int]:
    texts = [("Not on the menu", NOT_ON_MENU), ("Standard proteins", PROTEINS)]
    return [
        Passage(chunk_id=i, text=t, source="menu.md", heading_path=h, score=0.03, vector_score=0.5)
        for i, (h, t) in enumerate(texts, 1)
    ], 3


@pytest.fixture
def runtime(settings: Settings, embedder: Embedder, tmp_path: Path) -> Runtime:
    (tmp_path / "ensemble.yaml").write_text(ENSEMBLE)
    (tmp_path / "routing.yaml").write_text(ROUTING)
    configured = settings.model_copy(
        update={
            "ensemble_config": tmp_path / "ensemble.yaml",
            "routing_config": tmp_path / "routing.yaml",
            "ensemble_profile": None,
        }
    )
    built = build_runtime(configured, embedder)
    fake = FakeTime()
    built.router = Router(
        built.routing,
        built.registry,
        built.provider,
        clock=fake.clock,
        sleep=fake.sleep,
        rng=lambda: 0.0,
    )
    return built


async def test_a_failing_teacher_falls_back_and_the_reply_says_so(
    runtime: Runtime, session: AsyncSession
) -> None:
    teacher = ScriptedProvider(ProviderUnavailableError("HTTP 503"))
    student, backup, local = (
        ScriptedProvider(HALLUCINATED),
        ScriptedProvider(GROUNDED),
        ScriptedProvider("unused"),
    )
    for model_id, provider in (
        (OPENAI, teacher),
        (ANTHROPIC, student),
        (EXTRACTIVE, backup),
        (LOCAL, local),
    ):
        runtime.use_provider(model_id, provider)
    result = await runtime.ensemble.generate_with_consensus(
        "Do you serve wagyu beef?", TurnContext(retriever=_retriever), "menu", "u7"
    )
    by_role = {o.role: o for o in result.outcomes}
    teacher_outcome = by_role["teacher"]
    # The teacher's route lists the student's model first: it is never used for the teacher.
    assert [a.model_id for a in teacher_outcome.attempts] == [OPENAI, EXTRACTIVE]
    assert len(teacher.history) == 2 and len(student.history) == 1
    assert teacher_outcome.model_id == EXTRACTIVE and teacher_outcome.degraded
    assert result.winner == "teacher" and result.degraded
    assert result.reply == f"{GROUNDED}\n\n(A backup model answered.)"
    assert not by_role["student"].degraded and local.history == []

    conversation = Conversation(tenant="demo", token_hash="0" * 64)
    session.add(conversation)
    await session.flush()
    _, reply, _ = await record_turn(
        session,
        conversation_id=conversation.id,
        tenant="demo",
        customer_text="Do you serve wagyu beef?",
        result=result,
        user_id="u7",
    )
    await session.commit()
    stored = await session.get(Message, reply.id)
    assert stored is not None and stored.degraded and stored.content == result.reply
    rows = (
        await session.scalars(
            select(ProviderCall)
            .where(ProviderCall.message_id == reply.id)
            .order_by(ProviderCall.id)
        )
    ).all()
    assert [(r.role, r.provider, r.outcome, r.retry_count) for r in rows] == [
        ("teacher", "openai", "error", 1),
        ("teacher", "extractive", "ok", 0),
        ("student", "anthropic", "ok", 0),
    ]
    assert rows[0].reason and rows[0].reason.startswith("configured teacher of chat.menu")
    assert rows[1].reason and rows[1].reason.startswith("route chat.teacher/high #2")
    assert all(r.task_type == "chat.menu" and r.agent == "menu" for r in rows)
    assert all(r.user_id == "u7" for r in rows)


async def test_both_roles_failing_hold_and_keep_every_attempt(runtime: Runtime) -> None:
    for model_id in (OPENAI, ANTHROPIC, EXTRACTIVE, LOCAL):
        runtime.use_provider(model_id, ScriptedProvider(ProviderUnavailableError("down")))
    result = await runtime.ensemble.generate_with_consensus(
        "Do you serve wagyu beef?", TurnContext(retriever=_retriever), "menu", None
    )
    assert result.decision == "hold_and_escalate" and not result.degraded
    assert result.reply == runtime.config.holding_reply
    teacher, student = result.outcomes
    assert teacher.error_type == "RoutingFailedError"
    assert [a.model_id for a in teacher.attempts] == [OPENAI, EXTRACTIVE]
    assert [a.model_id for a in student.attempts] == [ANTHROPIC, LOCAL]
    assert all(a.retry_count == 1 for a in teacher.attempts + student.attempts)
