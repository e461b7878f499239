"""Admin APIs of the learning loop: lessons to review, dialogue runs, feature flags."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from triad import flags
from triad.api.deps import AdminDep, CurrentAdmin, EmbedderDep, SessionDep, SettingsDep
from triad.db.models import DialogueRun, Lesson
from triad.dialogue import lessons as service
from triad.dialogue.job import DialogueDeps, Outcome, manual_day, run_dialogue
from triad.errors import ConfigurationError

router = APIRouter(prefix="/admin/api", tags=["learning loop"], dependencies=[AdminDep])

# A lesson id is a bigint: beyond it is a 422, not a database error.
LessonId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class LessonOut(BaseModel):
    """A lesson with the evidence it cites."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    agent: str
    status: str
    title: str
    instruction: str
    original_instruction: str | None
    erring_role: str | None
    erring_model: str | None
    wrong_claim: str | None
    error_kind: str | None
    evidence_passage: str | None
    evidence_chunk_id: int | None
    evidence_signal_ids: list[int]
    match_terms: list[str]
    case_count: int
    run_id: int | None
    review_note: str | None
    reviewed_by: int | None
    reviewed_at: datetime | None
    created_at: datetime


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=2000)


class EditBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instruction: str | None = Field(default=None, min_length=1, max_length=2000)
    title: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("instruction", "title")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value


class RunOut(BaseModel):
    """One dialogue run: its status, why it was skipped or failed, and what it found."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    run_date: date
    status: str
    trigger: str
    reason: str | None
    owner: str | None
    attempts: int
    cases: int
    groups: int
    lessons_proposed: int
    stats: dict[str, Any]
    started_at: datetime
    finished_at: datetime | None


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date | None = Field(default=None, description="the business day; default yesterday")


class RunResult(BaseModel):
    """What a manual run did; `already_ran` and `in_progress` mean it did nothing."""

    outcome: Outcome
    message: str
    run_date: date
    run_id: int | None
    attempts: int
    run: RunOut | None


class FlagOut(BaseModel):
    key: str
    enabled: bool
    value: dict[str, Any]
    description: str


class FlagUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool
    value: dict[str, Any] | None = Field(default=None, description="null keeps the stored value")


def _lesson(lesson: Lesson) -> LessonOut:
    return LessonOut.model_validate(lesson)


def _dialogue(request: Request) -> DialogueDeps:
    deps: DialogueDeps | None = getattr(request.app.state, "dialogue", None)
    if deps is None:
        raise ConfigurationError("the dialogue job is not set up in this process")
    return deps


@router.get("/lessons")
async def get_lessons(
    session: SessionDep,
    settings: SettingsDep,
    status: Annotated[Literal["proposed", "approved", "rejected"] | None, Query()] = None,
    agent: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[LessonOut]:
    """Lessons, newest first, with the training-signal ids they cite."""
    rows = await service.list_lessons(
        session, tenant=settings.tenant, status=status, agent=agent, limit=limit
    )
    return [_lesson(r) for r in rows]


@router.get("/lessons/{lesson_id}")
async def get_lesson(lesson_id: LessonId, session: SessionDep, settings: SettingsDep) -> LessonOut:
    """One lesson."""
    return _lesson(await service.get_lesson(session, lesson_id, tenant=settings.tenant))


@router.post("/lessons/{lesson_id}/approve")
async def approve(
    lesson_id: LessonId, session: SessionDep, settings: SettingsDep, admin: CurrentAdmin
) -> LessonOut:
    """Approve a proposed lesson; both models read it from the next turn on (409 otherwise)."""
    lesson = await service.approve_lesson(session, lesson_id, admin.user_id, tenant=settings.tenant)
    return _lesson(lesson)


@router.post("/lessons/{lesson_id}/reject")
async def reject(
    lesson_id: LessonId,
    session: SessionDep,
    settings: SettingsDep,
    admin: CurrentAdmin,
    body: RejectBody | None = None,
) -> LessonOut:
    """Reject a proposed lesson, or withdraw an approved one (409 when already rejected)."""
    lesson = await service.reject_lesson(
        session, lesson_id, admin.user_id, note=body.note if body else None, tenant=settings.tenant
    )
    return _lesson(lesson)


@router.patch("/lessons/{lesson_id}")
async def edit(
    lesson_id: LessonId,
    body: EditBody,
    session: SessionDep,
    settings: SettingsDep,
    embedder: EmbedderDep,
) -> LessonOut:
    """Reword a lesson; the first edit keeps the original instruction."""
    lesson = await service.edit_lesson(
        session, lesson_id, instruction=body.instruction, title=body.title,
        tenant=settings.tenant, embedder=embedder,
    )  # fmt: skip
    return _lesson(lesson)


@router.get("/dialogue/runs")
async def get_runs(
    session: SessionDep, settings: SettingsDep, limit: Annotated[int, Query(ge=1, le=365)] = 30
) -> list[RunOut]:
    """The latest nightly runs with their outcome (skipped runs say why)."""
    rows = await service.list_runs(session, tenant=settings.tenant, limit=limit)
    return [RunOut.model_validate(r) for r in rows]


@router.post("/dialogue/runs")
async def start_run(
    request: Request, session: SessionDep, settings: SettingsDep, body: RunRequest | None = None
) -> RunResult:
    """Run the dialogue for a past day now (default: yesterday); a done or running day does
    nothing; today or a later day is a 422 (it is not over)."""
    deps = _dialogue(request)
    day = manual_day(body.date if body else None, deps.config.zone)
    outcome = await run_dialogue(deps, tenant=settings.tenant, run_date=day, trigger="manual")
    run = await session.get(DialogueRun, outcome.run_id) if outcome.run_id else None
    return RunResult(
        outcome=outcome.outcome,
        message=outcome.message,
        run_date=day,
        run_id=outcome.run_id,
        attempts=outcome.attempts,
        run=RunOut.model_validate(run) if run else None,
    )


def _flag(state: flags.FlagState) -> FlagOut:
    return FlagOut(
        key=state.key, enabled=state.enabled, value=state.value, description=state.description
    )


@router.get("/flags")
async def get_flags(session: SessionDep) -> list[FlagOut]:
    """Every known feature flag (unset ones at their defaults)."""
    return [_flag(s) for s in await flags.list_flags(session)]


@router.put("/flags/{key}")
async def put_flag(key: str, body: FlagUpdate, session: SessionDep) -> FlagOut:
    """Turn a flag on or off and set its value (unknown key 404, bad value 422)."""
    return _flag(await flags.set_flag(session, key, enabled=body.enabled, value=body.value))
