"""The experiment report: arms, per-arm metrics, each arm against the baseline, canary, events.

One shape for the admin API, the console page and `triad experiments report`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from triad.db.models import Experiment, ExperimentEvent
from triad.experiments.metrics import ArmMetrics, arm_metrics, subject_role
from triad.experiments.stats import ALPHA, MIN_DETECTABLE_EFFECT, POWER, compare
from triad.experiments.store import get_experiment

HIGHER_IS_BETTER = {
    "error_rate": False,
    "critic_win_rate": True,
    "hallucination_rate": False,
    "escalation_rate": False,
    "thumbs_up_rate": True,
}


class ArmOut(BaseModel):
    name: str
    share_percent: float
    teacher_model: str | None = None
    student_model: str | None = None
    model: str | None = None
    prompt_version: int | None = None


class ExperimentOut(BaseModel):
    id: int
    key: str
    description: str
    kind: str
    target_kind: str
    target: str
    status: str
    status_reason: str | None
    started_at: datetime | None
    stopped_at: datetime | None
    arms: list[ArmOut]

    @classmethod
    def of(cls, row: Experiment) -> ExperimentOut:
        return cls(
            id=row.id,
            key=row.key,
            description=row.description,
            kind=row.kind,
            target_kind=row.target_kind,
            target=row.target,
            status=row.status,
            status_reason=row.status_reason,
            started_at=row.started_at,
            stopped_at=row.stopped_at,
            arms=[
                ArmOut(
                    name=a["name"],
                    share_percent=a["share_bps"] / 100,
                    teacher_model=a.get("teacher_model"),
                    student_model=a.get("student_model"),
                    model=a.get("model"),
                    prompt_version=a.get("prompt_version"),
                )
                for a in row.arms
            ],
        )


class ArmMetricsOut(BaseModel):
    """Rates are None until the arm has something to count; `*_n` is the denominator."""

    arm: str
    turns: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    error_rate: float | None
    error_n: int
    cost_per_turn_usd: float | None
    critic_win_rate: float | None
    critic_win_n: int
    hallucination_rate: float | None
    hallucination_n: int
    escalation_rate: float | None
    escalation_n: int
    thumbs_up_rate: float | None
    thumbs_up_n: int

    @classmethod
    def of(cls, m: ArmMetrics) -> ArmMetricsOut:
        return cls(
            arm=m.arm,
            turns=m.turns,
            latency_p50_ms=m.latency_p50_ms,
            latency_p95_ms=m.latency_p95_ms,
            error_rate=m.errors.rate,
            error_n=m.errors.n,
            cost_per_turn_usd=m.cost_per_turn,
            critic_win_rate=m.wins.rate,
            critic_win_n=m.wins.n,
            hallucination_rate=m.hallucinations.rate,
            hallucination_n=m.hallucinations.n,
            escalation_rate=m.escalations.rate,
            escalation_n=m.escalations.n,
            thumbs_up_rate=m.thumbs_up.rate,
            thumbs_up_n=m.thumbs_up.n,
        )


class ComparisonOut(BaseModel):
    arm: str
    metric: str
    baseline_rate: float | None
    arm_rate: float | None
    diff: float = Field(description="arm minus baseline")
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    n_baseline: int
    n_arm: int
    required_n_per_arm: int
    more_needed_per_arm: int
    significant: bool
    verdict: str = Field(description="'too early to call: ...' until the numbers can say")


class CanaryOut(BaseModel):
    steps: list[float]
    step_percent: float
    next_step_percent: float | None
    canary_share_percent: float
    settings: dict[str, Any]


class EventOut(BaseModel):
    id: int
    kind: str
    detail: dict[str, Any]
    created_at: datetime


class ExperimentReport(BaseModel):
    experiment: ExperimentOut
    win_rate_role: str | None = Field(description="whose critic wins `critic_win_rate` counts")
    alpha: float
    power: float
    min_detectable_effect: float
    metrics: list[ArmMetricsOut]
    comparisons: list[ComparisonOut]
    canary: CanaryOut | None
    events: list[EventOut]


def _canary(row: Experiment) -> CanaryOut | None:
    if row.kind != "canary" or not row.canary.get("steps"):
        return None
    steps = [float(s) for s in row.canary["steps"]]
    step = int(row.canary.get("step", 0))
    settings = {
        k: v
        for k, v in row.canary.items()
        if k not in ("steps", "step", "step_started_at", "held_at_step", "stats")
    }
    return CanaryOut(
        steps=steps,
        step_percent=steps[step],
        next_step_percent=steps[step + 1] if step + 1 < len(steps) else None,
        canary_share_percent=row.arms[-1]["share_bps"] / 100 if row.arms else 0.0,
        settings=settings,
    )


async def build_report(session: AsyncSession, ref: str | int) -> ExperimentReport:
    row = await get_experiment(session, ref)
    stats = row.canary.get("stats") or {}
    alpha = float(stats.get("alpha", ALPHA))
    power = float(stats.get("power", POWER))
    mde = min(float(stats.get("mde", MIN_DETECTABLE_EFFECT)), 0.5)  # rows synced before the cap
    metrics = await arm_metrics(session, row)
    arms = list(metrics.values())
    comparisons: list[ComparisonOut] = []
    baseline = arms[0] if arms else None
    for arm in arms[1:]:
        assert baseline is not None
        for name, proportion in arm.rates().items():
            base = baseline.rates()[name]
            if row.target_kind != "agent" and name != "error_rate":
                continue
            c = compare(
                base,
                proportion,
                higher_is_better=HIGHER_IS_BETTER[name],
                alpha=alpha,
                power=power,
                mde=mde,
            )
            comparisons.append(
                ComparisonOut(
                    arm=arm.arm,
                    metric=name,
                    baseline_rate=base.rate,
                    arm_rate=proportion.rate,
                    diff=c.test.diff,
                    ci_low=c.test.ci_low,
                    ci_high=c.test.ci_high,
                    z=c.test.z,
                    p_value=c.test.p_value,
                    n_baseline=base.n,
                    n_arm=proportion.n,
                    required_n_per_arm=c.required_n,
                    more_needed_per_arm=c.more_needed,
                    significant=c.significant,
                    verdict=c.verdict,
                )
            )
    events = await session.scalars(
        select(ExperimentEvent)
        .where(ExperimentEvent.experiment_id == row.id)
        .order_by(ExperimentEvent.id.desc())
        .limit(100)
    )
    return ExperimentReport(
        experiment=ExperimentOut.of(row),
        win_rate_role=subject_role(row) if row.target_kind == "agent" else None,
        alpha=alpha,
        power=power,
        min_detectable_effect=mde,
        metrics=[ArmMetricsOut.of(m) for m in arms],
        comparisons=comparisons,
        canary=_canary(row),
        events=[
            EventOut(id=e.id, kind=e.kind, detail=e.detail, created_at=e.created_at) for e in events
        ],
    )
