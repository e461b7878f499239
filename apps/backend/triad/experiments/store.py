"""Experiments in the database: config sync, sticky assignment, and the status lifecycle.

The database owns status (so every replica agrees): `draft -> running <-> paused`, any of
those `-> stopped`, and a running canary may `-> rolled_back` on its own; a rolled-back
canary may be started again (from its first step). Only one experiment runs per target.
Traffic of an experiment that is not running goes to the baseline and is not recorded as
experiment traffic.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from triad.db.models import Experiment, ExperimentEvent
from triad.errors import ConflictError, NotFoundError
from triad.experiments.arms import ArmChoice, Assignment
from triad.experiments.bucketing import (
    BUCKETS,
    Allocation,
    Range,
    check_allocation,
    contiguous,
    reallocate,
)
from triad.experiments.config import ExperimentConfig, ExperimentsConfig, RolesOf
from triad.providers.registry import ModelRegistry

TRANSITIONS: dict[str, dict[str, set[str]]] = {
    "start": {"running": {"draft", "paused", "rolled_back"}},
    "pause": {"paused": {"running"}},
    "stop": {"stopped": {"draft", "running", "paused"}},
}


SYNC_LOCK = 0x7472_6961_6465_7870  # "triadexp": one sync at a time across replicas
REMOVED = "removed from config"
_ID = re.compile(r"[0-9]{1,18}")  # an id fits a bigint; anything else is a key


def target_lock(target_kind: str, target: str) -> int:
    """A stable signed 64-bit advisory-lock key per target, the same in every process."""
    digest = hashlib.sha256(f"triad-experiment-target:{target_kind}:{target}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def canary_shares(step_percent: float) -> tuple[int, int]:
    """(baseline, canary) basis points at a ramp step."""
    canary = round(step_percent * 100)
    return BUCKETS - canary, canary


def allocation_of(arms: Sequence[Mapping[str, Any]]) -> dict[str, list[Range]]:
    """Each arm's stored bucket ranges. Arms stored before ranges were (or with ranges that
    do not match their shares) get the contiguous allocation of their shares, which is what
    assigned their users then; shares not summing to 10,000 are a ValueError."""
    try:
        stored = {a["name"]: [(int(s), int(e)) for s, e in a["ranges"]] for a in arms}
        check_allocation(stored)
        if all(sum(e - s for s, e in stored[a["name"]]) == int(a["share_bps"]) for a in arms):
            return stored
    except (KeyError, TypeError, ValueError):
        pass
    return contiguous([(a["name"], int(a["share_bps"])) for a in arms])


def with_shares(
    arms: Sequence[Mapping[str, Any]],
    shares_bps: Sequence[int],
    before: Sequence[Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """`arms` with new shares (in order) and the ranges that move the fewest users there from
    the allocation of `before` (default: `arms` themselves; matched by arm name)."""
    source = arms if before is None else before
    try:
        old = allocation_of(source) if source else {}
    except ValueError:  # nothing consistent to keep: allocate afresh
        old = {}
    names = [a["name"] for a in arms]
    ranges = reallocate(old, list(zip(names, shares_bps, strict=True)))
    return [
        {**a, "share_bps": bps, "ranges": [[s, e] for s, e in ranges[a["name"]]]}
        for a, bps in zip(arms, shares_bps, strict=True)
    ]


def _arms_json(
    exp: ExperimentConfig, canary_bps: int | None, before: Sequence[Mapping[str, Any]] = ()
) -> list[dict[str, Any]]:
    """The config's arms with their shares; ranges follow on from the arms `before` (by
    name: removed arms release their buckets, new arms take free ones)."""
    rows, shares = [], []
    for n, arm in enumerate(exp.arms):
        if exp.kind == "canary":
            bps = (BUCKETS - (canary_bps or 0)) if n == 0 else (canary_bps or 0)
        else:
            bps = round((arm.share or 0) * 100)
        shares.append(bps)
        rows.append(
            {
                "name": arm.name,
                "share_bps": bps,
                "teacher_model": arm.teacher_model,
                "student_model": arm.student_model,
                "model": arm.model,
                "prompt_version": arm.prompt_version,
            }
        )
    return with_shares(rows, shares, before)


def _canary_json(exp: ExperimentConfig, state: dict[str, Any] | None) -> dict[str, Any]:
    if exp.kind != "canary":
        return {}
    settings = exp.canary_settings
    state = state or {}
    step = min(int(state.get("step", 0)), len(settings.steps) - 1)
    return {
        **settings.model_dump(mode="json"),
        "step": step,
        "step_started_at": state.get("step_started_at"),
        "held_at_step": state.get("held_at_step"),
    }


def _stats_json(exp: ExperimentConfig) -> dict[str, float]:
    return {"alpha": exp.alpha, "power": exp.power, "mde": exp.min_detectable_effect}


_CANARY_STATE = {"step", "step_started_at", "held_at_step"}


def definition(row: Experiment) -> dict[str, Any]:
    """What config decides about an experiment (compared on sync); a canary's shares are
    its progress, not its definition, and bucket ranges follow from the shares."""
    derived = {"ranges", "share_bps"} if row.kind == "canary" else {"ranges"}
    arms = [{k: v for k, v in a.items() if k not in derived} for a in row.arms]
    return {
        "description": row.description,
        "kind": row.kind,
        "target_kind": row.target_kind,
        "target": row.target,
        "salt": row.salt,
        "arms": arms,
        "canary": {k: v for k, v in row.canary.items() if k not in _CANARY_STATE},
    }


def canary_bps(row: Experiment) -> int | None:
    """The canary arm's share right now (0 once rolled back)."""
    if row.kind != "canary":
        return None
    if row.status == "rolled_back":
        return 0
    steps = row.canary.get("steps") or [1]
    return canary_shares(steps[int(row.canary.get("step", 0))])[1]


async def sync_experiments(
    session: AsyncSession, config: ExperimentsConfig, *, now: datetime | None = None
) -> list[str]:
    """Insert new experiments as drafts and update changed definitions; returns what changed.

    Status and a canary's progress are the database's: a sync never starts, stops or
    re-ramps anything, except that an experiment no longer in the file is paused (its arms
    may name models the registry no longer has), with a `removed_from_config` event.
    """
    now = now or datetime.now(UTC)
    changed: list[str] = []
    try:  # replicas starting together sync one after the other
        await session.execute(select(func.pg_advisory_xact_lock(SYNC_LOCK)))
        for exp in config.experiments:
            row = await session.scalar(
                select(Experiment).where(Experiment.key == exp.key).with_for_update()
            )
            if row is None:
                canary = _canary_json(exp, None)
                row = Experiment(
                    key=exp.key,
                    description=exp.description,
                    kind=exp.kind,
                    target_kind=exp.target_kind,
                    target=exp.target,
                    status="draft",
                    salt=exp.salt_value,
                    arms=_arms_json(exp, _step_bps(exp, canary)),
                    canary={**canary, "stats": _stats_json(exp)},
                )
                session.add(row)
                await session.flush()
                session.add(ExperimentEvent(experiment_id=row.id, kind="defined", detail={}))
                changed.append(exp.key)
                continue
            before = definition(row)
            canary = _canary_json(exp, row.canary)
            bps = 0 if row.status == "rolled_back" else _step_bps(exp, canary)
            row.description, row.kind = exp.description, exp.kind
            row.target_kind, row.target, row.salt = exp.target_kind, exp.target, exp.salt_value
            row.arms = _arms_json(exp, bps, row.arms)
            row.canary = {**canary, "stats": _stats_json(exp)}
            after = definition(row)
            if after != before:
                row.updated_at = now
                session.add(
                    ExperimentEvent(
                        experiment_id=row.id, kind="redefined", detail={"before": before}
                    )
                )
                changed.append(exp.key)
        changed += await _pause_removed(session, {e.key for e in config.experiments}, now)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return changed


async def _pause_removed(session: AsyncSession, keys: set[str], now: datetime) -> list[str]:
    """Pause running or paused experiments the file no longer defines (recorded once)."""
    rows = await session.scalars(
        select(Experiment)
        .where(Experiment.status.in_(("running", "paused")), Experiment.key.not_in(keys))
        .with_for_update()
    )
    changed = []
    for row in rows:
        if row.status == "paused" and row.status_reason == REMOVED:
            continue
        previous = row.status
        row.status, row.status_reason, row.updated_at = "paused", REMOVED, now
        session.add(
            ExperimentEvent(
                experiment_id=row.id,
                kind="removed_from_config",
                detail={"from": previous, "to": "paused", "reason": REMOVED},
            )
        )
        changed.append(row.key)
    return changed


def load_checked(
    path: Path,
    registry: ModelRegistry,
    agents: Collection[str],
    roles: RolesOf | None = None,
) -> ExperimentsConfig:
    """The experiments file, validated against the registry, the agents, the prompts and
    (given `roles`) the agents' teacher and student models."""
    config = ExperimentsConfig.from_yaml(path) if path.exists() else ExperimentsConfig()
    config.check(registry, set(agents), roles or configured_roles())
    return config


def configured_roles() -> RolesOf:
    """The active ensemble profile's (teacher, student) model per agent, from the settings."""
    from triad.ensemble.config import EnsembleConfig
    from triad.settings import get_settings

    settings = get_settings()
    ensemble = EnsembleConfig.from_yaml(settings.ensemble_config)
    profile = settings.ensemble_profile

    def roles(agent: str) -> tuple[str, str]:
        teacher, student = ensemble.roles_for(agent, profile)
        return teacher.model, student.model

    return roles


async def sync_configured(
    sessions: async_sessionmaker[AsyncSession],
    path: Path,
    registry: ModelRegistry,
    agents: Collection[str],
    roles: RolesOf | None = None,
) -> list[str]:
    """Read, check and sync the experiments file (a missing file defines no experiments)."""
    config = load_checked(path, registry, agents, roles)
    async with sessions() as session:
        return await sync_experiments(session, config)


def _step_bps(exp: ExperimentConfig, canary: dict[str, Any]) -> int | None:
    if exp.kind != "canary":
        return None
    return canary_shares(canary["steps"][canary["step"]])[1]


async def get_experiment(
    session: AsyncSession, ref: str | int, *, lock: bool = False
) -> Experiment:
    """By numeric id or by key; NotFoundError names what was asked for."""
    query = select(Experiment)
    if isinstance(ref, int) or _ID.fullmatch(ref):
        query = query.where(Experiment.id == int(ref))
    else:
        query = query.where(Experiment.key == ref)
    if lock:
        query = query.with_for_update()
    row = await session.scalar(query)
    if row is None:
        raise NotFoundError(f"experiment '{ref}' not found")
    return row


async def list_experiments(session: AsyncSession) -> list[Experiment]:
    return list(await session.scalars(select(Experiment).order_by(Experiment.id)))


async def transition(
    session: AsyncSession,
    ref: str | int,
    action: str,
    *,
    actor: str | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> Experiment:
    """Start, pause or stop; an action the current status forbids is a ConflictError (409)."""
    now = now or datetime.now(UTC)
    ((target, allowed),) = TRANSITIONS[action].items()
    try:
        row = await get_experiment(session, ref, lock=True)
        if row.status not in allowed:
            raise ConflictError(
                f"cannot {action} experiment '{row.key}': it is {row.status} "
                f"({action} works from {', '.join(sorted(allowed))})"
            )
        if action == "start":
            # Concurrent starts on one target take turns, so the check below sees the winner.
            lock = target_lock(row.target_kind, row.target)
            await session.execute(select(func.pg_advisory_xact_lock(lock)))
            other = await session.scalar(
                select(Experiment.key).where(
                    Experiment.status == "running",
                    Experiment.target_kind == row.target_kind,
                    Experiment.target == row.target,
                    Experiment.id != row.id,
                )
            )
            if other is not None:
                raise ConflictError(
                    f"cannot start experiment '{row.key}': experiment '{other}' is already "
                    f"running on {row.target_kind} '{row.target}'"
                )
            if row.status != "paused":
                row.started_at = now
                if row.kind == "canary":
                    _restart_canary(row, now)
            row.stopped_at = None
        elif action == "stop":
            row.stopped_at = now
        previous = row.status
        row.status, row.status_reason, row.updated_at = target, reason, now
        session.add(
            ExperimentEvent(
                experiment_id=row.id,
                kind=action,
                detail={"from": previous, "to": target, "actor": actor, "reason": reason},
            )
        )
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return row


def _restart_canary(row: Experiment, now: datetime) -> None:
    """A (re)started canary begins at its first step."""
    steps = row.canary.get("steps") or [1]
    baseline, canary = canary_shares(steps[0])
    row.canary = {**row.canary, "step": 0, "step_started_at": now.isoformat(), "held_at_step": None}
    row.arms = with_shares(row.arms, [baseline, *(canary for _ in row.arms[1:])])


def choice_of(arm: dict[str, Any]) -> ArmChoice:
    return ArmChoice(
        teacher_model=arm.get("teacher_model"),
        student_model=arm.get("student_model"),
        model=arm.get("model"),
        prompt_version=arm.get("prompt_version"),
    )


async def assign_unit(
    session: AsyncSession, *, target_kind: str, target: str, unit: str | None
) -> Assignment | None:
    """The arm of the experiment running on this target for `unit` (a user id), or None.

    Without a user id, a fresh random unit still honours the shares (nothing to stick to).
    """
    row = await session.scalar(
        select(Experiment).where(
            Experiment.status == "running",
            Experiment.target_kind == target_kind,
            Experiment.target == target,
        )
    )
    if row is None or not row.arms:
        return None
    name = Allocation.of(allocation_of(row.arms)).assign(row.salt, unit or uuid.uuid4().hex)
    arm = next(a for a in row.arms if a["name"] == name)
    return Assignment(row.id, row.key, name, choice_of(arm), kind=row.kind)


async def add_event(
    session: AsyncSession, experiment_id: int, kind: str, detail: dict[str, Any]
) -> None:
    session.add(ExperimentEvent(experiment_id=experiment_id, kind=kind, detail=detail))
