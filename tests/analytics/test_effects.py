"""A lesson's before/after measures the error of its kind: unsupported claims, escalations of
its questions, or thumbs down on them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.analytics.seed import ask, place
from tests.api.helpers import GROUNDED, HALLUCINATED
from triad.analytics.effects import approved_effects, lesson_effects, measure_of
from triad.db.models import Lesson
from triad.errors import ProviderUnavailableError
from triad.runtime import Runtime

DOWN = ProviderUnavailableError("scripted outage")
PROTEINS = "You can choose chicken, shrimp, NY strip steak, salmon or tofu."
WAGYU = "Do you serve wagyu beef"
REVIEWED = datetime.now(UTC) - timedelta(days=1)
BEFORE = REVIEWED - timedelta(days=2)
AFTER = REVIEWED + timedelta(hours=1)


async def _approved(session: AsyncSession, kind: str | None, terms: list[str]) -> Lesson:
    lesson = Lesson(
        tenant="demo", agent="menu", status="approved", title=f"{kind} lesson",
        instruction="…", error_kind=kind, match_terms=terms, reviewed_at=REVIEWED,
    )  # fmt: skip
    session.add(lesson)
    await session.commit()
    return lesson


async def _at(session: AsyncSession, when: datetime, *message_ids: int) -> None:
    for message_id in message_ids:
        await place(session, message_id, when)


def test_the_measure_follows_the_kind() -> None:
    assert measure_of("escalation") == "escalations"
    assert measure_of("negative_feedback") == "thumbs_down"
    for kind in ("unsupported", "contradicted", "disagreement", None):
        assert measure_of(kind) == "unsupported_claims"


async def test_an_escalation_lesson_counts_escalated_turns_on_its_questions(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    # the answered turns first: failing models open their circuit breakers for a while
    sent = await ask(client, runtime, GROUNDED, GROUNDED, f"{WAGYU} at weddings?")
    later = await ask(client, runtime, GROUNDED, GROUNDED, f"{WAGYU} at a WEDDING?")
    await _at(
        session, BEFORE, sent,
        await ask(client, runtime, DOWN, DOWN, "Can you cater a wedding in Napa?"),  # escalated
        await ask(client, runtime, DOWN, DOWN, "A wedding for 80 guests?"),  # escalated
        await ask(client, runtime, DOWN, DOWN, "Do you have tofu?"),  # escalated, not a wedding
    )  # fmt: skip
    await _at(session, AFTER, later)
    lesson = await _approved(session, "escalation", ["wedding"])

    (effect,) = await lesson_effects(session, [lesson.id])
    assert effect.measure == "escalations" and effect.error_kind == "escalation"
    assert (effect.before.answers, effect.before.errors) == (3, 2)
    assert (effect.after.answers, effect.after.errors) == (1, 0)
    assert effect.change is not None and round(effect.change, 4) == round(0 - 2 / 3, 4)
    assert not effect.conclusive


async def test_a_feedback_lesson_counts_thumbs_down_among_rated_replies(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    await _at(
        session, BEFORE,
        await ask(client, runtime, GROUNDED, GROUNDED, "Any wagyu?", feedback="down"),
        await ask(client, runtime, GROUNDED, GROUNDED, "Wagyu beef?", feedback="up"),
        await ask(client, runtime, GROUNDED, GROUNDED, "Wagyu tonight?"),  # not rated
        await ask(client, runtime, PROTEINS, PROTEINS, "Which proteins?", feedback="down"),
    )  # fmt: skip
    # the question does not name it, the disliked reply does: still the lesson's turn
    await _at(
        session, AFTER, await ask(client, runtime, GROUNDED, GROUNDED, "Beef?", feedback="down")
    )
    lesson = await _approved(session, "negative_feedback", ["wagyu"])

    (effect,) = await lesson_effects(session, [lesson.id])
    assert effect.measure == "thumbs_down"
    assert (effect.before.answers, effect.before.errors) == (2, 1)
    assert (effect.after.answers, effect.after.errors) == (1, 1)
    assert effect.before.rate == 0.5 and effect.after.rate == 1.0


async def test_claim_lessons_count_unsupported_claims_and_all_approved_are_listed(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    await _at(
        session, BEFORE,
        await ask(client, runtime, GROUNDED, HALLUCINATED),  # 2 answers, 1 wagyu claim; sent
        await ask(client, runtime, DOWN, DOWN, "Wagyu for a wedding?"),  # no answer; escalated
    )  # fmt: skip
    disagreement = await _approved(session, "disagreement", ["wagyu"])
    escalation = await _approved(session, "escalation", ["wagyu"])
    session.add_all(
        [
            Lesson(tenant="demo", agent="menu", status="proposed", instruction="Maybe."),
            Lesson(
                tenant="elsewhere", agent="menu", status="approved", instruction="No.",
                reviewed_at=REVIEWED,
            ),
        ]
    )  # fmt: skip
    await session.commit()

    effects = {e.lesson_id: e for e in await approved_effects(session, tenant="demo")}
    assert set(effects) == {disagreement.id, escalation.id}
    claims = effects[disagreement.id]
    assert claims.measure == "unsupported_claims"
    assert (claims.before.answers, claims.before.errors) == (2, 1)
    # only the unanswered turn went to staff: the first sent the teacher's grounded answer, the
    # student's wrong one being a training signal, not a staff case
    escalated = effects[escalation.id]
    assert (escalated.before.answers, escalated.before.errors) == (2, 1)
    assert escalated.before.rate == 0.5
    assert escalated.title == "escalation lesson"
