"""Admin insights for the console: win rates, consensus, disagreements, model health, lesson
effects (admins only)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from triad.analytics.charts import (
    Bin,
    Disagreement,
    ModelHealthRow,
    consensus_histogram,
    disagreements,
    provider_health,
)
from triad.analytics.effects import (
    BEFORE_DAYS,
    MEASURES,
    LessonEffect,
    Measure,
    Window,
    approved_effects,
    lesson_effects,
)
from triad.analytics.winrates import WIN_RATE_FIELDS, WinRateRow, win_rates
from triad.api.deps import AdminDep, RuntimeDep, SessionDep, SettingsDep
from triad.routing.budget import BudgetConfig
from triad.routing.costs import parse_fields, report_range
from triad.settings import Settings

router = APIRouter(prefix="/admin/api", tags=["insights"], dependencies=[AdminDep])

DEFAULT_GROUP_BY = "day,role,provider,model"

From = Annotated[date | None, Query(alias="from", description="first day, inclusive")]
To = Annotated[date | None, Query(alias="to", description="last day, inclusive")]


def _range(settings: Settings, start: date | None, end: date | None) -> tuple[date, date, str]:
    """The requested days (default: the last 30 business days) and the business time zone."""
    budgets = BudgetConfig.from_yaml(settings.budgets_config)
    start, end = report_range(budgets, start, end)
    return start, end, budgets.timezone


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


class WinRateOut(BaseModel):
    """One group; a field not grouped by is null, a rate with nothing to divide by is null."""

    day: date | None
    agent: str | None
    role: str | None
    provider: str | None
    model: str | None
    turns: int
    answers: int
    errors: int
    wins: int
    losses: int
    ties: int
    win_rate: float | None = Field(description="wins / (wins + losses + ties)")
    unsupported: int
    hallucination_rate: float | None = Field(description="answers with an unsupported claim")
    mean_consensus: float | None
    escalations: int
    escalation_rate: float | None
    thumbs_up: int
    thumbs_down: int
    cost_usd: float

    @classmethod
    def of(cls, row: WinRateRow) -> WinRateOut:
        return cls(
            day=row.day,
            agent=row.agent,
            role=row.role,
            provider=row.provider,
            model=row.model,
            turns=row.turns,
            answers=row.answers,
            errors=row.errors,
            wins=row.wins,
            losses=row.losses,
            ties=row.ties,
            win_rate=_round(row.win_rate),
            unsupported=row.unsupported,
            hallucination_rate=_round(row.hallucination_rate),
            mean_consensus=_round(row.mean_consensus),
            escalations=row.escalations,
            escalation_rate=_round(row.escalation_rate),
            thumbs_up=row.thumbs_up,
            thumbs_down=row.thumbs_down,
            cost_usd=round(row.cost_usd, 6),
        )


class WinRateReport(BaseModel):
    start: date = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    timezone: str
    group_by: list[str]
    rows: list[WinRateOut]


@router.get("/win-rates")
async def get_win_rates(
    session: SessionDep,
    settings: SettingsDep,
    start: From = None,
    end: To = None,
    group_by: Annotated[
        str, Query(max_length=64, description=f"comma-separated: {', '.join(WIN_RATE_FIELDS)}")
    ] = DEFAULT_GROUP_BY,
) -> WinRateReport:
    """Wins, losses, ties, hallucination and escalation rates, consensus and cost per group.

    Days are business days (the time zone of `config/budgets.yaml`); rolled-up days come from
    the nightly rollups, the others (today included) are computed live. Default: the last 30
    days by day, role, provider and model. A bad date, a reversed or over-long range, or an
    unknown group_by field is a 422.
    """
    fields = parse_fields(group_by, WIN_RATE_FIELDS)
    start, end, timezone = _range(settings, start, end)
    rows = await win_rates(
        session,
        start=start,
        end=end,
        group_by=fields,
        tenant=settings.tenant,
        timezone=timezone,
    )
    return WinRateReport(
        start=start,
        end=end,
        timezone=timezone,
        group_by=list(fields),
        rows=[WinRateOut.of(r) for r in rows],
    )


class BinOut(BaseModel):
    lower: float
    upper: float
    turns: int

    @classmethod
    def of(cls, b: Bin) -> BinOut:
        return cls(lower=round(b.lower, 6), upper=round(b.upper, 6), turns=b.turns)


class Histogram(BaseModel):
    start: date = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    agent: str | None
    turns: int = Field(description="evaluated turns in the range; the bins add up to it")
    bins: list[BinOut]


@router.get("/consensus-histogram")
async def get_consensus_histogram(
    session: SessionDep,
    settings: SettingsDep,
    start: From = None,
    end: To = None,
    agent: Annotated[str | None, Query(max_length=32)] = None,
    bins: Annotated[int, Query(ge=1, le=100)] = 10,
) -> Histogram:
    """How many turns fell in each consensus bin: [lower, upper), the last bin closed at 1."""
    start, end, timezone = _range(settings, start, end)
    counted = await consensus_histogram(
        session,
        start=start,
        end=end,
        tenant=settings.tenant,
        timezone=timezone,
        bins=bins,
        agent=agent,
    )
    return Histogram(
        start=start,
        end=end,
        agent=agent,
        turns=sum(b.turns for b in counted),
        bins=[BinOut.of(b) for b in counted],
    )


class DisagreementOut(BaseModel):
    message_id: int
    conversation_id: uuid.UUID
    agent: str | None
    question: str
    answers: dict[str, str | None] = Field(description="role -> answer snippet (null: failed)")
    consensus: float
    decision: str | None
    created_at: datetime

    @classmethod
    def of(cls, d: Disagreement) -> DisagreementOut:
        return cls(**d.__dict__)


@router.get("/disagreements")
async def get_disagreements(
    session: SessionDep,
    settings: SettingsDep,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    below: Annotated[
        float | None,
        Query(ge=0, le=1, description="consensus under this (default: the escalation threshold)"),
    ] = None,
) -> list[DisagreementOut]:
    """The latest low-consensus turns, newest first, with both answers side by side."""
    threshold = runtime.config.consensus_threshold if below is None else below
    found = await disagreements(session, tenant=settings.tenant, below=threshold, limit=limit)
    return [DisagreementOut.of(d) for d in found]


class ModelHealthOut(BaseModel):
    model_id: str
    circuit: str | None = Field(description="closed | open | half_open in this process")
    reopens_in_s: float
    calls: int = Field(description="calls in the last hour (every replica)")
    errors: int
    error_rate: float | None
    p95_latency_ms: float | None = Field(description="p95 of the successful calls")

    @classmethod
    def of(cls, row: ModelHealthRow) -> ModelHealthOut:
        return cls(
            model_id=row.model_id,
            circuit=row.circuit,
            reopens_in_s=round(row.reopens_in_s, 3),
            calls=row.calls,
            errors=row.errors,
            error_rate=_round(row.error_rate),
            p95_latency_ms=_round(row.p95_latency_ms),
        )


@router.get("/providers/health")
async def get_provider_health(session: SessionDep, runtime: RuntimeDep) -> list[ModelHealthOut]:
    """Per model: its circuit breaker, and the last hour's p95 latency and error rate."""
    rows = await provider_health(session, runtime.router, now=datetime.now(UTC))
    return [ModelHealthOut.of(r) for r in rows]


class WindowOut(BaseModel):
    start: datetime
    end: datetime
    answers: int
    errors: int
    rate: float | None

    @classmethod
    def of(cls, w: Window) -> WindowOut:
        return cls(
            start=w.start, end=w.end, answers=w.answers, errors=w.errors, rate=_round(w.rate)
        )


class LessonEffectOut(BaseModel):
    lesson_id: int
    agent: str
    title: str
    error_kind: str | None
    measure: Measure = Field(description="what counts as the error, after the lesson's kind")
    measure_text: str
    match_terms: list[str]
    reviewed_at: datetime
    before: WindowOut
    after: WindowOut
    change: float | None = Field(description="after rate - before rate")
    conclusive: bool = Field(description="both windows have enough answers to judge")

    @classmethod
    def of(cls, e: LessonEffect) -> LessonEffectOut:
        return cls(
            lesson_id=e.lesson_id,
            agent=e.agent,
            title=e.title,
            error_kind=e.error_kind,
            measure=e.measure,
            measure_text=MEASURES[e.measure],
            match_terms=e.match_terms,
            reviewed_at=e.reviewed_at,
            before=WindowOut.of(e.before),
            after=WindowOut.of(e.after),
            change=_round(e.change),
            conclusive=e.conclusive,
        )


BeforeDays = Annotated[int, Query(ge=1, le=365, description="days before approval")]


@router.get("/lessons/effects")
async def get_lesson_effects(
    session: SessionDep, settings: SettingsDep, days: BeforeDays = BEFORE_DAYS
) -> list[LessonEffectOut]:
    """Every approved lesson's error rate before its approval and since, most recent first.

    The error counted follows the lesson's kind (see `measure`): unsupported claims on its
    terms, escalations of its questions, or thumbs down on them.
    """
    effects = await approved_effects(session, tenant=settings.tenant, before_days=days)
    return [LessonEffectOut.of(e) for e in effects]


@router.get("/lessons/{lesson_id}/effect")
async def get_lesson_effect(
    session: SessionDep,
    settings: SettingsDep,
    lesson_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    days: BeforeDays = BEFORE_DAYS,
) -> LessonEffectOut:
    """How often the lesson's error happened before its approval and since (404 unknown or
    another tenant's, 409 not approved)."""
    (effect,) = await lesson_effects(session, [lesson_id], before_days=days, tenant=settings.tenant)
    return LessonEffectOut.of(effect)
