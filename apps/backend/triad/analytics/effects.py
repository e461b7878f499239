"""Did an approved lesson help? The rate of the error it targets, before and after approval.

What counts as the error follows the lesson's `error_kind`, because each kind of case was a
different failure (a text "holds" the terms when it contains every one of the lesson's
`match_terms`, case-insensitive; a lesson without terms matches everything):

- unsupported, contradicted, disagreement (or unknown): among the answers (candidates) of the
  lesson's agent, the share with an unsupported claim that holds the terms;
- escalation: among the agent's turns whose question holds the terms, the share escalated;
- negative_feedback: among the agent's rated replies on turns whose question (or the reply:
  such a lesson's terms come from the disliked reply) holds the terms, the share thumbed down.

"Before" is the `before_days` days up to the review, "after" is from the review until `now`;
both windows count what they divide by, so too few turns to judge is visible (`conclusive`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, exists, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from triad.db.models import Candidate, Conversation, Escalation, Lesson, Message
from triad.errors import ConflictError, NotFoundError

BEFORE_DAYS = 14
MIN_ANSWERS = 10

Measure = Literal["unsupported_claims", "escalations", "thumbs_down"]
MEASURES: dict[Measure, str] = {
    "unsupported_claims": "answers with an unsupported claim on the lesson's terms",
    "escalations": "turns on the lesson's questions handed to staff",
    "thumbs_down": "rated replies on the lesson's questions given a thumbs down",
}


def measure_of(error_kind: str | None) -> Measure:
    """What a lesson of `error_kind` should make rarer."""
    if error_kind == "escalation":
        return "escalations"
    if error_kind == "negative_feedback":
        return "thumbs_down"
    return "unsupported_claims"


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
    title: str = ""
    error_kind: str | None = None
    measure: Measure = "unsupported_claims"

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


def _holds(column: Any, terms: Sequence[str]) -> Any:
    """True when the text `column` holds every term (case-insensitive)."""
    text = func.lower(func.coalesce(column, ""))
    return and_(true(), *(func.strpos(text, t.lower()) > 0 for t in terms))


async def _turn_window(
    session: AsyncSession,
    lesson: Lesson,
    terms: Sequence[str],
    measure: Measure,
    start: datetime,
    end: datetime,
) -> Window:
    """Escalated (or thumbed-down among rated) replies of the agent on matching questions."""
    reply, question = aliased(Message), aliased(Message)
    if measure == "escalations":
        counted: Any = true()
        matching = _holds(question.content, terms)
        error: Any = exists().where(Escalation.message_id == reply.id)
    else:
        counted = reply.feedback.is_not(None)
        matching = or_(_holds(question.content, terms), _holds(reply.content, terms))
        error = reply.feedback == -1
    stmt = (
        select(func.count(), func.count().filter(error))
        .select_from(reply)
        .join(question, question.id == reply.reply_to_id)
        .join(Conversation, Conversation.id == reply.conversation_id)
        .where(
            reply.role == "assistant",
            counted,
            matching,
            Conversation.tenant == lesson.tenant,
            reply.agent == lesson.agent,
            reply.created_at >= start,
            reply.created_at < end,
        )
    )
    turns, errors = (await session.execute(stmt)).one()
    return Window(start=start, end=end, answers=int(turns), errors=int(errors))


async def _window(
    session: AsyncSession,
    lesson: Lesson,
    terms: Sequence[str],
    start: datetime,
    end: datetime,
    measure: Measure = "unsupported_claims",
) -> Window:
    if measure != "unsupported_claims":
        return await _turn_window(session, lesson, terms, measure, start, end)
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
        effects.append(
            await _effect(session, lesson, lesson.reviewed_at, before_days=before_days, now=now)
        )
    return effects


async def _effect(
    session: AsyncSession, lesson: Lesson, reviewed: datetime, *, before_days: int, now: datetime
) -> LessonEffect:
    terms = [str(t) for t in lesson.match_terms if str(t).strip()]
    measure = measure_of(lesson.error_kind)
    start = reviewed - timedelta(days=before_days)
    before = await _window(session, lesson, terms, start, reviewed, measure)
    after = await _window(session, lesson, terms, reviewed, max(now, reviewed), measure)
    return LessonEffect(
        lesson_id=lesson.id,
        agent=lesson.agent,
        match_terms=terms,
        reviewed_at=reviewed,
        before=before,
        after=after,
        title=lesson.title or "",
        error_kind=lesson.error_kind,
        measure=measure,
    )


async def approved_effects(
    session: AsyncSession,
    *,
    tenant: str,
    before_days: int = BEFORE_DAYS,
    now: datetime | None = None,
) -> list[LessonEffect]:
    """The effect of every approved lesson of `tenant`, most recently approved first."""
    now = now or datetime.now().astimezone()
    lessons = await session.scalars(
        select(Lesson)
        .where(
            Lesson.tenant == tenant, Lesson.status == "approved", Lesson.reviewed_at.is_not(None)
        )
        .order_by(Lesson.reviewed_at.desc(), Lesson.id.desc())
    )
    return [
        await _effect(session, lesson, lesson.reviewed_at, before_days=before_days, now=now)
        for lesson in lessons
        if lesson.reviewed_at is not None
    ]
