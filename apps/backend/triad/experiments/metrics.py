"""Per-arm numbers of an experiment, read from the rows every turn and call is tagged on.

Definitions (the report and the canary controller share them):
- turns: answered customer turns (task_type experiments: answered calls, cache hits included);
- latency p50/p95: answering model calls of the roles under test;
- error rate: failed share of the arm's upstream calls of the roles under test (a model
  skipped because its breaker is open counts as failed; a missing key, a budget refusal or a
  cache hit is no call); retries of one call count once, a fallback that answered counts ok;
- cost per turn: every call's list-price cost over turns;
- critic win rate: turns won by the role under test (the student unless only the teacher
  changes); hallucination rate: answers of the roles under test with unsupported claims;
- escalation rate: turns not simply sent; thumbs-up rate: up votes among rated replies.

"Roles under test" are the roles some arm changes (both when arms only change the prompt).
The canary controller judges a canary by its own model: `models_only` keeps, for the arms it
names, only the calls to that arm's models (a fallback that answered for a failing canary is
not the canary's success).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, or_, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from triad.db.models import Candidate, Experiment, Message, ProviderCall, TrainingSignal
from triad.experiments.stats import Proportion

CALLED = ("ok", "error", "skipped_breaker")
NONE = Proportion(0, 0)
FAILED = ("error", "skipped_breaker")


def roles_under_test(row: Experiment) -> list[str] | None:
    """None for task_type experiments (their calls have no role)."""
    if row.target_kind != "agent":
        return None
    changed = sorted(
        role
        for arm in row.arms
        for role, key in (("teacher", "teacher_model"), ("student", "student_model"))
        if arm.get(key)
    )
    return changed or ["student", "teacher"]


def subject_role(row: Experiment) -> str:
    roles = roles_under_test(row) or ["student"]
    return "student" if "student" in roles else roles[0]


@dataclass
class ArmMetrics:
    arm: str
    turns: int = 0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    errors: Proportion = NONE
    cost_usd: float = 0.0
    wins: Proportion = NONE
    hallucinations: Proportion = NONE
    escalations: Proportion = NONE
    thumbs_up: Proportion = NONE

    @property
    def cost_per_turn(self) -> float | None:
        return self.cost_usd / self.turns if self.turns else None

    def rates(self) -> dict[str, Proportion]:
        return {
            "error_rate": self.errors,
            "critic_win_rate": self.wins,
            "hallucination_rate": self.hallucinations,
            "escalation_rate": self.escalations,
            "thumbs_up_rate": self.thumbs_up,
        }


def _since(column: Any, since: datetime | None) -> ColumnElement[bool]:
    return column >= since if since is not None else true()


def arm_models(arm: dict[str, Any]) -> list[str]:
    """The registry ids an arm swaps in (none for a baseline or a prompt-only arm)."""
    return [m for m in (arm.get(k) for k in ("teacher_model", "student_model", "model")) if m]


def _to_models(models: list[str]) -> ColumnElement[bool]:
    """Calls to one of `models` (registry ids are `provider:model`); any call if none."""
    if not models:
        return true()
    pairs = [tuple(m.split(":", 1)) for m in models]
    return tuple_(ProviderCall.provider, ProviderCall.model).in_(pairs)


def _models_scope(row: Experiment, models_only: Collection[str]) -> ColumnElement[bool]:
    pc = ProviderCall
    scoped = [a for a in row.arms if a["name"] in models_only]
    if not scoped:
        return true()
    return or_(
        not_(pc.experiment_arm.in_([a["name"] for a in scoped])),
        *(and_(pc.experiment_arm == a["name"], _to_models(arm_models(a))) for a in scoped),
    )


async def arm_metrics(
    session: AsyncSession,
    row: Experiment,
    *,
    since: datetime | None = None,
    models_only: Collection[str] = (),
) -> dict[str, ArmMetrics]:
    """Every arm's numbers (arms without traffic are all zeros), in the arms' order; the error
    rate and latency of the arms in `models_only` count only calls to their own models."""
    out = {a["name"]: ArmMetrics(a["name"]) for a in row.arms}
    roles = roles_under_test(row)
    pc = ProviderCall
    in_scope = and_(
        pc.role.in_(roles) if roles is not None else true(), _models_scope(row, models_only)
    )
    called = and_(pc.outcome.in_(CALLED), in_scope)
    answered_ok = and_(pc.outcome == "ok", in_scope)
    calls = await session.execute(
        select(
            pc.experiment_arm,
            func.count().filter(called),
            func.count().filter(and_(pc.outcome.in_(FAILED), in_scope)),
            func.percentile_cont(0.5).within_group(pc.latency_ms).filter(answered_ok),
            func.percentile_cont(0.95).within_group(pc.latency_ms).filter(answered_ok),
            func.coalesce(func.sum(pc.cost_usd), 0.0),
            func.count().filter(pc.outcome.in_(("ok", "cache_hit"))),
        )
        .where(pc.experiment_id == row.id, _since(pc.created_at, since))
        .group_by(pc.experiment_arm)
    )
    for arm, n_called, n_failed, p50, p95, cost, answered in calls:
        if arm not in out:
            continue
        m = out[arm]
        m.errors = Proportion(int(n_failed), int(n_called))
        m.latency_p50_ms = float(p50) if p50 is not None else None
        m.latency_p95_ms = float(p95) if p95 is not None else None
        m.cost_usd = float(cost)
        if row.target_kind != "agent":
            m.turns = int(answered)
    if row.target_kind != "agent":
        return out

    turns = await session.execute(
        select(
            Message.experiment_arm,
            func.count(),
            func.count().filter(Message.decision != "send"),
            func.count().filter(Message.feedback.is_not(None)),
            func.count().filter(Message.feedback == 1),
        )
        .where(
            Message.experiment_id == row.id,
            Message.role == "assistant",
            _since(Message.created_at, since),
        )
        .group_by(Message.experiment_arm)
    )
    for arm, n, escalated, rated, up in turns:
        if arm in out:
            out[arm].turns = int(n)
            out[arm].escalations = Proportion(int(escalated), int(n))
            out[arm].thumbs_up = Proportion(int(up), int(rated))

    role = subject_role(row)
    wins = await session.execute(
        select(
            TrainingSignal.experiment_arm,
            func.count(),
            func.count().filter(TrainingSignal.winner == role),
        )
        .where(TrainingSignal.experiment_id == row.id, _since(TrainingSignal.created_at, since))
        .group_by(TrainingSignal.experiment_arm)
    )
    for arm, n, won in wins:
        if arm in out:
            out[arm].wins = Proportion(int(won), int(n))

    made_up = func.jsonb_array_length(Candidate.unsupported_claims) > 0
    answers = await session.execute(
        select(Message.experiment_arm, func.count(), func.count().filter(made_up))
        .join(Message, Message.id == Candidate.message_id)
        .where(
            Message.experiment_id == row.id,
            Candidate.role.in_(roles or []),
            Candidate.text.is_not(None),
            _since(Message.created_at, since),
        )
        .group_by(Message.experiment_arm)
    )
    for arm, n, bad in answers:
        if arm in out:
            out[arm].hallucinations = Proportion(int(bad), int(n))
    return out


async def recent_call_outcomes(
    session: AsyncSession, row: Experiment, arm: str, *, since: datetime | None, limit: int
) -> Proportion:
    """Failed share of the arm's most recent `limit` calls (the roles under test) to the arm's
    own models (all of its calls when it swaps in none)."""
    roles = roles_under_test(row)
    pc = ProviderCall
    models = arm_models(next((a for a in row.arms if a["name"] == arm), {}))
    recent = (
        select(pc.outcome)
        .where(
            pc.experiment_id == row.id,
            pc.experiment_arm == arm,
            pc.outcome.in_(CALLED),
            pc.role.in_(roles) if roles is not None else true(),
            _to_models(models),
            _since(pc.created_at, since),
        )
        .order_by(pc.id.desc())
        .limit(limit)
        .subquery()
    )
    n, failed = (
        await session.execute(
            select(func.count(), func.count().filter(recent.c.outcome.in_(FAILED))).select_from(
                recent
            )
        )
    ).one()
    return Proportion(int(failed), int(n))
