"""Every kind of case becomes a lesson, and cases are grouped by meaning, not by wording.

Turns are seeded through the real chat, feedback and escalation APIs, then the night is run.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.analytics.seed import ask, staff_reply
from tests.api.helpers import GROUNDED, HALLUCINATED
from tests.dialogue.helpers import enable, run_today
from triad.db.models import Lesson, TrainingSignal
from triad.errors import ProviderUnavailableError
from triad.runtime import Runtime

DOWN = ProviderUnavailableError("scripted outage")
WEDDING = "Can you cater a wedding for 200 guests in Napa next June?"
GOLD = "Yes: we cater weddings of up to 250 guests anywhere in Napa; a planner will call you."
WAGYU_AGAIN = "Absolutely, wagyu beef can be added to any plate for 20 dollars."
NO_ALCOHOL = "We do not serve alcohol."
OPEN_BAR = "Yes, we bring an open bar with wine and cocktails."


async def _lessons(session: AsyncSession) -> list[Lesson]:
    rows = await session.scalars(
        select(Lesson).order_by(Lesson.id).execution_options(populate_existing=True)
    )
    return list(rows)


async def _signal_of(session: AsyncSession, message_id: int) -> TrainingSignal:
    signal = await session.scalar(
        select(TrainingSignal)
        .where(TrainingSignal.message_id == message_id)
        .execution_options(populate_existing=True)
    )
    assert signal is not None
    return signal


async def test_an_escalation_answered_by_staff_teaches_the_staff_answer(
    app: FastAPI, runtime: Runtime, client: httpx.AsyncClient, demo: None, session: AsyncSession
) -> None:
    message_id = await ask(client, runtime, DOWN, DOWN, WEDDING)  # nobody answers: staff does
    await staff_reply(client, message_id, GOLD)
    signal = await _signal_of(session, message_id)
    assert signal.gold_answer == GOLD and signal.unsupported_claims == []
    await enable(session)
    outcome = await run_today(app)
    assert outcome.outcome == "succeeded", outcome.message

    (lesson,) = await _lessons(session)
    assert lesson.error_kind == "escalation"
    assert lesson.evidence_signal_ids == [signal.id]
    assert lesson.wrong_claim is None
    assert WEDDING in lesson.instruction and GOLD in lesson.instruction
    assert lesson.match_terms and all(t in WEDDING.lower() for t in lesson.match_terms)


async def test_a_thumbs_down_on_a_clean_answer_becomes_a_lesson(
    app: FastAPI, runtime: Runtime, client: httpx.AsyncClient, demo: None, session: AsyncSession
) -> None:
    liked = await ask(client, runtime, GROUNDED, GROUNDED, "Is wagyu on the menu?", feedback="up")
    disliked = await ask(
        client, runtime, GROUNDED, GROUNDED, "Do you serve wagyu beef?", feedback="down"
    )
    for message_id in (liked, disliked):
        signal = await _signal_of(session, message_id)
        assert signal.unsupported_claims == [] and signal.gold_answer is None
    await enable(session)
    outcome = await run_today(app)
    assert outcome.outcome == "succeeded", outcome.message
    assert outcome.stats["customer_sessions"] == 2

    (lesson,) = await _lessons(session)  # the liked turn teaches nothing
    assert lesson.error_kind == "negative_feedback"
    assert lesson.evidence_signal_ids == [(await _signal_of(session, disliked)).id]
    assert lesson.wrong_claim == GROUNDED
    assert "wagyu" in lesson.match_terms


async def test_two_patterns_on_one_day_give_two_lessons(
    app: FastAPI, runtime: Runtime, client: httpx.AsyncClient, demo: None, session: AsyncSession
) -> None:
    await ask(client, runtime, GROUNDED, HALLUCINATED, "Do you serve wagyu beef?")
    await ask(client, runtime, NO_ALCOHOL, OPEN_BAR, "Can you bring wine and cocktails?")
    await enable(session)
    outcome = await run_today(app)
    assert outcome.outcome == "succeeded", outcome.message
    assert outcome.message.startswith("2 cases in 2 groups: 2 lessons proposed")

    wagyu, bar = await _lessons(session)
    assert "wagyu" in wagyu.match_terms and "wagyu" in wagyu.instruction.lower()
    assert "wagyu" not in bar.match_terms
    assert (bar.wrong_claim or "").startswith("Yes, we bring an open bar")
    assert set(wagyu.evidence_signal_ids).isdisjoint(bar.evidence_signal_ids)
    assert (wagyu.case_count, bar.case_count) == (1, 1)


async def test_two_wordings_of_one_mistake_give_one_lesson(
    app: FastAPI, runtime: Runtime, client: httpx.AsyncClient, demo: None, session: AsyncSession
) -> None:
    first = await ask(client, runtime, GROUNDED, HALLUCINATED, "Do you serve wagyu beef?")
    second = await ask(client, runtime, GROUNDED, WAGYU_AGAIN, "Could I add wagyu to my plate?")
    await enable(session)
    outcome = await run_today(app)
    assert outcome.outcome == "succeeded", outcome.message
    assert outcome.message.startswith("2 cases in 1 groups: 1 lessons proposed")
    assert outcome.stats["merged_into"] == []  # one group, not a duplicate merged afterwards

    (lesson,) = await _lessons(session)
    signals = sorted([(await _signal_of(session, m)).id for m in (first, second)])
    assert lesson.evidence_signal_ids == signals and lesson.case_count == 2
    assert "wagyu" in lesson.match_terms
