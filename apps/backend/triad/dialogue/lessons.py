"""Reviewing lessons and reading the approved ones into prompts: plain functions over a session.

A lesson moves `proposed -> approved | rejected`, and an approved one may still be rejected;
a rejected lesson stays rejected (409). Edits keep the first text in `original_instruction`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from triad.db.models import DialogueRun, Lesson
from triad.errors import ConflictError, InputError, NotFoundError
from triad.knowledge.embedding import TextEmbedder

STATUSES = ("proposed", "approved", "rejected")
_ALLOWED = {
    "approve": ("proposed",),
    "reject": ("proposed", "approved"),
    "edit": ("proposed", "approved"),
}


async def list_lessons(
    session: AsyncSession,
    *,
    tenant: str,
    status: str | None = None,
    agent: str | None = None,
    limit: int = 100,
) -> list[Lesson]:
    """The tenant's lessons, newest first."""
    if status is not None and status not in STATUSES:
        raise InputError(f"unknown lesson status '{status}'; known: {', '.join(STATUSES)}")
    query = select(Lesson).where(Lesson.tenant == tenant)
    if status:
        query = query.where(Lesson.status == status)
    if agent:
        query = query.where(Lesson.agent == agent)
    query = query.order_by(Lesson.created_at.desc(), Lesson.id.desc()).limit(limit)
    return list(await session.scalars(query))


async def get_lesson(session: AsyncSession, lesson_id: int, *, tenant: str | None = None) -> Lesson:
    lesson = await session.get(Lesson, lesson_id, populate_existing=True)
    if lesson is None or (tenant is not None and lesson.tenant != tenant):
        raise NotFoundError(f"lesson {lesson_id} not found")
    return lesson


async def _for_update(
    session: AsyncSession, lesson_id: int, action: str, tenant: str | None
) -> Lesson:
    lesson = await session.get(Lesson, lesson_id, with_for_update=True, populate_existing=True)
    if lesson is None or (tenant is not None and lesson.tenant != tenant):
        await session.rollback()
        raise NotFoundError(f"lesson {lesson_id} not found")
    if lesson.status not in _ALLOWED[action]:
        status = lesson.status
        await session.rollback()
        raise ConflictError(f"lesson {lesson_id} is {status}; it cannot be {action}d")
    return lesson


async def approve_lesson(
    session: AsyncSession,
    lesson_id: int,
    reviewer_user_id: int | None,
    *,
    tenant: str | None = None,
) -> Lesson:
    """Approve a proposed lesson: from the next turn on, both models read it."""
    lesson = await _for_update(session, lesson_id, "approve", tenant)
    lesson.status = "approved"
    lesson.reviewed_by = reviewer_user_id
    lesson.reviewed_at = datetime.now(UTC)
    await session.commit()
    return lesson


async def reject_lesson(
    session: AsyncSession,
    lesson_id: int,
    reviewer_user_id: int | None,
    *,
    note: str | None = None,
    tenant: str | None = None,
) -> Lesson:
    """Reject a proposed (or withdraw an approved) lesson, with an optional note."""
    lesson = await _for_update(session, lesson_id, "reject", tenant)
    lesson.status = "rejected"
    lesson.review_note = note.strip() if note and note.strip() else None
    lesson.reviewed_by = reviewer_user_id
    lesson.reviewed_at = datetime.now(UTC)
    await session.commit()
    return lesson


async def edit_lesson(
    session: AsyncSession,
    lesson_id: int,
    *,
    instruction: str | None = None,
    title: str | None = None,
    tenant: str | None = None,
    embedder: TextEmbedder | None = None,
) -> Lesson:
    """Change a lesson's words; the first edit keeps the original in `original_instruction`."""
    if instruction is not None and not instruction.strip():
        raise InputError("instruction must not be blank")
    if instruction is None and title is None:
        raise InputError("nothing to change: give an instruction and/or a title")
    lesson = await _for_update(session, lesson_id, "edit", tenant)
    if instruction is not None and instruction.strip() != lesson.instruction:
        if lesson.original_instruction is None:
            lesson.original_instruction = lesson.instruction
        lesson.instruction = instruction.strip()
        if embedder is not None:
            text = f"{lesson.instruction} {lesson.wrong_claim or ''}".strip()
            lesson.embedding = (await embedder.aembed([text]))[0].tolist()
    if title is not None:
        lesson.title = title.strip()
    await session.commit()
    return lesson


async def list_runs(session: AsyncSession, *, tenant: str, limit: int = 30) -> list[DialogueRun]:
    """The latest dialogue runs of the tenant, newest date first."""
    query = (
        select(DialogueRun)
        .where(DialogueRun.tenant == tenant)
        .order_by(DialogueRun.run_date.desc(), DialogueRun.id.desc())
        .limit(limit)
    )
    return list(await session.scalars(query))


async def approved_lessons_for(
    session: AsyncSession,
    tenant: str,
    agent: str,
    question: str,
    embedder: TextEmbedder,
    limit: int,
) -> list[str]:
    """The instructions of the approved lessons most relevant to `question`, at most `limit`.

    Two steps, on purpose:
    - selection is by relevance: with more approved lessons than `limit`, the `limit` closest
      to the question by cosine are taken (ties: the most recently reviewed, then the newest);
      with `limit` or fewer, all of them, and the question is not even embedded;
    - order in the prompt is by lesson id (oldest first), not by relevance: the
      prompt version is a hash of the rendered lessons, so the same set must render the same
      way whatever the question, or one set would count as many prompt versions.
    """
    if limit <= 0:
        return []
    scope = select(Lesson).where(
        Lesson.tenant == tenant, Lesson.agent == agent, Lesson.status == "approved"
    )
    count = await session.scalar(select(func.count()).select_from(scope.subquery()))
    if not count:
        return []
    query = scope
    if count > limit:
        vector = (await embedder.aembed([question]))[0].tolist()
        query = scope.order_by(
            Lesson.embedding.cosine_distance(vector).asc().nulls_last(),
            Lesson.reviewed_at.desc().nulls_last(),
            Lesson.id.desc(),
        ).limit(limit)
    chosen = list(await session.scalars(query))
    chosen.sort(key=lambda lesson: lesson.id)
    return [lesson.instruction for lesson in chosen]
