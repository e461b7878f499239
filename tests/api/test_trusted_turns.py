"""Whole turns a customer can trust, through the chat API on the demo knowledge base.

The real offline teacher (extractive) and the real grounded critic answer and judge; only the
student is scripted, with the wrong replies that used to reach customers (issue #11).
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.helpers import new_turn
from tests.support.scripted import ScriptedProvider
from triad.db.models import CriticEvaluation, Escalation, TrainingSignal
from triad.errors import ProviderUnavailableError
from triad.runtime import Runtime


def script_student(runtime: Runtime, *items: str | BaseException) -> None:
    """Only the student is scripted; the configured teacher (extractive offline) answers."""
    profile = runtime.config.active(runtime.settings.ensemble_profile)
    runtime.use_provider(profile.student.model, ScriptedProvider(*items))


@pytest.mark.parametrize(
    ("question", "wrong_student", "must", "never"),
    [
        (
            "Do you have vegan options? My daughter has a nut allergy.",
            "We do not have any vegan options.",
            ["tofu"],
            ["do not have any vegan"],
        ),
        (
            "Is gratuity included in the price?",
            "Yes, gratuity is included.",
            ["not added automatically"],
            ["gratuity is included"],
        ),
        (
            "Can I get lobster?",
            "No, you cannot. You cannot get lobster.",
            ["lobster tail"],
            ["cannot get lobster"],
        ),
        (
            "What's the price for a 10 year old?",
            "The price for a 10-year-old is $10.00.",
            ["$30"],
            ["$10.00"],
        ),
    ],
)
async def test_the_grounded_answer_is_sent_and_the_wrong_student_is_not(
    client: httpx.AsyncClient,
    runtime: Runtime,
    session: AsyncSession,
    question: str,
    wrong_student: str,
    must: list[str],
    never: list[str],
    demo: None,
) -> None:
    script_student(runtime, wrong_student)
    body = await new_turn(client, question)
    reply = str(body["reply"]).lower()
    assert body["status"] == "answered", body
    assert all(m in reply for m in must), reply
    assert not any(n in reply for n in never), reply
    signal = await session.scalar(
        select(TrainingSignal).where(TrainingSignal.message_id == body["message_id"])
    )
    assert signal is not None and signal.winner == "teacher"
    assert any(c["role"] == "student" for c in signal.unsupported_claims), "the wrong answer"
    assert await session.scalar(select(Escalation)) is None, "a wrong student is no staff case"


@pytest.mark.parametrize(
    ("question", "must", "never"),
    [
        ("Can I pay with Venmo?", ["card or cash"], ["$550", "gratuity", "add-on"]),
        ("Quote for 12 adults and 4 kids please", ["$840"], []),
        ("It's just 4 of us adults. What will we pay for food?", ["$550"], []),
    ],
)
async def test_the_offline_teacher_answers_the_question(
    client: httpx.AsyncClient,
    runtime: Runtime,
    question: str,
    must: list[str],
    never: list[str],
    demo: None,
) -> None:
    script_student(runtime, "I am not sure.")
    body = await new_turn(client, question)
    reply = str(body["reply"])
    assert body["status"] == "answered", body
    assert all(m in reply for m in must), reply
    assert not any(n.lower() in reply.lower() for n in never), reply
    sentences = [s.strip() for s in reply.split(". ") if s.strip()]
    assert len(sentences) == len(set(sentences)), f"a sentence repeats: {reply}"


async def test_a_failed_role_is_a_single_answer_never_full_agreement(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    script_student(runtime, ProviderUnavailableError("scripted outage"))
    body = await new_turn(client, "Do you serve wagyu beef?")
    assert body["status"] == "answered", body
    evaluation = await session.scalar(
        select(CriticEvaluation).where(CriticEvaluation.message_id == body["message_id"])
    )
    assert evaluation is not None
    assert "single answer" in evaluation.rationale
    assert "agreement 1.00" not in evaluation.rationale
    assert 0.7 <= evaluation.consensus <= 0.75
