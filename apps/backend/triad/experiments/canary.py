"""The canary controller: ramp a new model step by step, or roll it back by itself.

Evaluated after a turn or call of a running canary (aggregate queries over the rows tagged
with the experiment), at most once per `evaluate_every_seconds` per process, because it runs
on the request path. Only the canary arm's calls to the canary's own model count for it (a
fallback that answered for it would dilute its error rate). Rollback: the canary's most
recent calls (at least
`rollback_min_requests`, at most `rollback_window`, since it was started) fail more than
`max_error_rate`. Ramp: at least `min_requests_per_step` canary calls since the step began,
and since then its error rate, p95 latency and hallucination rate stayed within bounds of
the baseline's. Every decision is an experiment event with the numbers behind it; a ramp
that is held is recorded once per step. Replicas serialise on the experiment row
(`FOR UPDATE SKIP LOCKED`): one evaluates, the others skip.
"""

from __future__ import annotations

import logging
import time
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from triad.db.models import Experiment
from triad.experiments.metrics import ArmMetrics, arm_metrics, recent_call_outcomes
from triad.experiments.store import add_event, canary_shares, with_shares

log = logging.getLogger(__name__)
DEFAULT_EVERY_SECONDS = 5.0

# Per database (engine) and experiment: (monotonic time of the last evaluation, its interval).
_evaluated: weakref.WeakKeyDictionary[Engine, dict[int, tuple[float, float]]] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True)
class CanaryDecision:
    action: str  # "none" | "rolled_back" | "ramped" | "held"
    reason: str = ""
    every_seconds: float = DEFAULT_EVERY_SECONDS
    """How long until the canary is worth evaluating again (its `evaluate_every_seconds`)."""


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _bounds(
    settings: dict[str, Any], baseline: ArmMetrics, canary: ArmMetrics
) -> tuple[list[str], dict[str, Any]]:
    """Problems that keep the canary at its step (empty: within bounds), and the numbers."""
    problems: list[str] = []
    err, base_err = canary.errors.rate, baseline.errors.rate or 0.0
    if err is not None:
        limit = min(settings["max_error_rate"], base_err + settings["max_error_increase"])
        if err > limit:
            problems.append(f"error rate {err:.1%} above {limit:.1%}")
    p95, base_p95 = canary.latency_p95_ms, baseline.latency_p95_ms
    if p95 is not None and base_p95 is not None:
        # A ratio alone would hold a canary for noise when both arms answer in a few ms.
        limit = max(
            base_p95 * settings["max_p95_ratio"], base_p95 + settings.get("p95_slack_ms", 50.0)
        )
        if p95 > limit:
            problems.append(f"p95 latency {p95:.0f} ms above {limit:.0f} ms")
    made_up, base_made_up = canary.hallucinations.rate, baseline.hallucinations.rate or 0.0
    if made_up is not None:
        limit = base_made_up + settings["max_hallucination_increase"]
        if made_up > limit:
            problems.append(f"hallucination rate {made_up:.1%} above {limit:.1%}")
    numbers = {
        "canary": {
            "calls": canary.errors.n,
            "error_rate": err,
            "p95_ms": p95,
            "hallucination_rate": made_up,
        },
        "baseline": {
            "calls": baseline.errors.n,
            "error_rate": baseline.errors.rate,
            "p95_ms": base_p95,
            "hallucination_rate": baseline.hallucinations.rate,
        },
    }
    return problems, numbers


async def evaluate(
    session: AsyncSession, experiment_id: int, *, now: datetime | None = None
) -> CanaryDecision:
    """Ramp, hold or roll back the canary; commits its own change (or nothing)."""
    now = now or datetime.now(UTC)
    try:
        row = await session.scalar(
            select(Experiment)
            .where(Experiment.id == experiment_id)
            .with_for_update(skip_locked=True)
        )
        if row is None or row.kind != "canary" or row.status != "running" or len(row.arms) < 2:
            await session.commit()
            return CanaryDecision("none")
        every = float(row.canary.get("evaluate_every_seconds", DEFAULT_EVERY_SECONDS))
        decision = await _decide(session, row, now)
        decision = CanaryDecision(decision.action, decision.reason, every)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    if decision.action in ("rolled_back", "ramped"):
        log.warning("experiment %s: canary %s: %s", experiment_id, decision.action, decision.reason)
    return decision


async def _decide(session: AsyncSession, row: Experiment, now: datetime) -> CanaryDecision:
    settings = row.canary
    baseline_arm, canary_arm = row.arms[0]["name"], row.arms[1]["name"]
    recent = await recent_call_outcomes(
        session,
        row,
        canary_arm,
        since=row.started_at,
        limit=int(settings["rollback_window"]),
    )
    error_rate = recent.rate
    if (
        error_rate is not None
        and recent.n >= int(settings["rollback_min_requests"])
        and error_rate > float(settings["max_error_rate"])
    ):
        reason = (
            f"canary error rate {error_rate:.1%} ({recent.successes} of its last {recent.n} "
            f"calls failed) exceeds {float(settings['max_error_rate']):.1%}"
        )
        row.status, row.status_reason, row.updated_at = "rolled_back", reason, now
        row.stopped_at = now
        row.arms = with_shares(row.arms, [10_000, *(0 for _ in row.arms[1:])])
        await add_event(
            session,
            row.id,
            "rolled_back",
            {
                "reason": reason,
                "step": settings.get("step"),
                "calls": recent.n,
                "failed": recent.successes,
                "error_rate": error_rate,
                "threshold": settings["max_error_rate"],
            },
        )
        return CanaryDecision("rolled_back", reason)

    steps = settings["steps"]
    step = int(settings.get("step", 0))
    if step >= len(steps) - 1:
        return CanaryDecision("none")
    step_started = _parse(settings.get("step_started_at")) or row.started_at
    metrics = await arm_metrics(session, row, since=step_started, models_only={canary_arm})
    canary, baseline = metrics[canary_arm], metrics[baseline_arm]
    if canary.errors.n < int(settings["min_requests_per_step"]):
        return CanaryDecision("none")
    problems, numbers = _bounds(settings, baseline, canary)
    if problems:
        reason = "; ".join(problems)
        if settings.get("held_at_step") != step:
            row.canary = {**settings, "held_at_step": step}
            await add_event(
                session,
                row.id,
                "ramp_held",
                {"step": steps[step], "reason": reason, **numbers},
            )
        return CanaryDecision("held", reason)
    new_step = step + 1
    base_bps, canary_bps = canary_shares(steps[new_step])
    row.arms = with_shares(row.arms, [base_bps, *(canary_bps for _ in row.arms[1:])])
    row.canary = {
        **settings,
        "step": new_step,
        "step_started_at": now.isoformat(),
        "held_at_step": None,
    }
    row.updated_at = now
    reason = f"ramped from {steps[step]:g}% to {steps[new_step]:g}%: within bounds"
    await add_event(
        session,
        row.id,
        "ramped",
        {"from": steps[step], "to": steps[new_step], "reason": reason, **numbers},
    )
    return CanaryDecision("ramped", reason)


async def after_traffic(session: AsyncSession, experiment_id: int, kind: str) -> None:
    """Called once a turn or call of an experiment is committed: evaluate a canary, unless this
    process did so less than its `evaluate_every_seconds` ago.

    It runs in a session of its own, so the caller's rows stay as they were; a failure here is
    logged, never raised: the customer's answer is already stored.
    """
    if kind != "canary" or session.bind is None:
        return
    bind = session.bind
    engine = bind if isinstance(bind, AsyncEngine) else bind.engine
    seen = _evaluated.setdefault(engine.sync_engine, {})
    last, every = seen.get(experiment_id, (None, 0.0))
    started = time.monotonic()
    if last is not None and started - last < every:
        return
    seen[experiment_id] = (started, every)  # concurrent requests do not all evaluate
    try:
        async with AsyncSession(session.bind, expire_on_commit=False) as own:
            decision = await evaluate(own, experiment_id)
        seen[experiment_id] = (started, decision.every_seconds)
    except Exception:
        log.exception("canary evaluation of experiment %s failed", experiment_id)
