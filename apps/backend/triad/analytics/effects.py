"""Did an approved lesson help? The rate of the error it targets, before and after approval.

The error of a lesson: an answer (candidate) of the lesson's agent with an unsupported claim
whose text holds every one of the lesson's `match_terms` (case-insensitive). A lesson without
terms targets every unsupported claim. "Before" is the `before_days` days up to the review,
"after" is from the review until `now`; both windows count answers, so too few turns to judge
is visible (`conclusive`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from triad.db.models import Candidate, Conversation, Lesson, Message
from triad.errors import ConflictError, NotFoundError

BEFORE_DAYS = 14
MIN_ANSWERS = 10


@dataclass
class Window:
    start: datetime
    end: datetime
    answers: int
    errors: int

    @property
    def rate(self) -> float | None:
        return self.errors / self.answers if self.answers else None


@dataclass
class LessonEffect:
    lesson_id: int
    agent: str
    match_terms: list[str]
    reviewed_at: datetime
    before: Window
    after: Window

    @property
    def change(self) -> float | None:
        """after rate - before rate (negative: the error got rarer)."""
        if self.before.rate is None or self.after.rate is None:
            return None
        return self.after.rate - self.before.rate

    @property
    def conclusive(self) -> bool:
        return min(self.before.answers, self.after.answers) >= MIN_ANSWERS


def _matches(terms: Sequence[str]) -> Any:
    """True for a candidate with an unsupported claim holding every term."""
    claim = func.jsonb_array_elements(Candidate.unsupported_claims).table_valued("value")
    text = func.lower(func.coalesce(func.jsonb_extract_path_text(claim.c.value, "text"), ""))
    holds = [func.strpos(text, t.lower()) > 0 for t in terms]
    return exists(select(1).select_from(claim).where(and_(true(), *holds)))


async def _window(
    session: AsyncSession, lesson: Lesson, terms: Sequence[str], start: datetime, end: datetime
) -> Window:
    answered = and_(
        Candidate.text.is_not(None), func.btrim(Candidate.text) != "", Candidate.error.is_(None)
    )
    stmt = (
        select(func.count(), func.count().filter(_matches(terms)))
        .select_from(Candidate)
        .join(Message, Message.id == Candidate.message_id)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            answered,
            Conversation.tenant == lesson.tenant,
            Message.agent == lesson.agent,
            Message.created_at >= start,
            Message.created_at < end,
        )
    )
    answers, errors = (await session.execute(stmt)).one()
    return Window(start=start, end=end, answers=int(answers), errors=int(errors))


async def lesson_effects(
    session: AsyncSession,
    lesson_ids: Sequence[int],
    *,
    before_days: int = BEFORE_DAYS,
    now: datetime | None = None,
    tenant: str | None = None,
) -> list[LessonEffect]:
    """The effect of each lesson, in the order asked; NotFoundError for an unknown id (or one
    of another tenant than `tenant`), ConflictError for a lesson not approved (it has no
    "after")."""
    now = now or datetime.now().astimezone()
    lessons = {
        row.id: row
        for row in await session.scalars(select(Lesson).where(Lesson.id.in_(lesson_ids)))
    }
    effects = []
    for lesson_id in lesson_ids:
        lesson = lessons.get(lesson_id)
        if lesson is None or (tenant is not None and lesson.tenant != tenant):
            raise NotFoundError(f"lesson {lesson_id} not found")
        if lesson.status != "approved" or lesson.reviewed_at is None:
            raise ConflictError(
                f"lesson {lesson_id} is {lesson.status}, not approved: it has no effect to measure"
            )
        terms = [str(t) for t in lesson.match_terms if str(t).strip()]
        reviewed = lesson.reviewed_at
        before = await _window(
            session, lesson, terms, reviewed - timedelta(days=before_days), reviewed
        )
        after = await _window(session, lesson, terms, reviewed, max(now, reviewed))
        effects.append(
            LessonEffect(
                lesson_id=lesson.id,
                agent=lesson.agent,
                match_terms=terms,
                reviewed_at=reviewed,
                before=before,
                after=after,
            )
        )
    return effects
