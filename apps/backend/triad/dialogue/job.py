"""The nightly LLMDialogue job: once per tenant and date, however many replicas try.

PostgreSQL coordinates it: a session-level advisory lock keyed by tenant and date is held on a
dedicated connection for the whole run, and `dialogue_runs` is unique per (tenant, run_date).
A second caller that cannot take the lock reports `in_progress`; one that finds the date done
reports `already_ran`. A run left `running` whose lock nobody holds (its process died), or a
`failed` or `skipped` one, is run again with `attempts + 1`.
"""

from __future__ import annotations

import logging
import os
import socket
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from triad.analytics.rollups import rollup_day
from triad.db.models import DialogueRun
from triad.db.session import make_session_factory
from triad.dialogue.cases import customer_sessions
from triad.dialogue.config import DialogueConfig
from triad.dialogue.learn import learn
from triad.dialogue.writer import LessonWriter
from triad.errors import InputError
from triad.flags import LLM_DIALOGUE, get_flag
from triad.knowledge.embedding import TextEmbedder

log = logging.getLogger(__name__)

Outcome = Literal["succeeded", "skipped", "failed", "already_ran", "in_progress"]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class DialogueDeps:
    """What the job needs; built once per process (the API's lifespan or the CLI)."""

    engine: AsyncEngine
    embedder: TextEmbedder
    writer: LessonWriter
    config: DialogueConfig
    consensus_threshold: float
    sources: Mapping[str, Sequence[str]]
    # the budgets' zone: win rates read rolled-up days in it, so rollups must use it too
    rollup_timezone: str = "UTC"


@dataclass
class RunOutcome:
    """What one attempt did; `did_work` is False for `already_ran` and `in_progress`."""

    outcome: Outcome
    tenant: str
    run_date: date
    message: str
    run_id: int | None = None
    attempts: int = 0
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def did_work(self) -> bool:
        return self.outcome not in ("already_ran", "in_progress")


def manual_day(day: date | None, zone: ZoneInfo, *, now: datetime | None = None) -> date:
    """The day a manual run may use: `day`, or yesterday; InputError for today or later.

    A run marks its date done, so a day not yet over would never get its late turns learned.
    """
    today = (now or datetime.now(zone)).astimezone(zone).date()
    if day is None:
        return today - timedelta(days=1)
    if day > today:
        raise InputError(f"date {day} is in the future (today is {today} in {zone.key})")
    if day == today:
        raise InputError(
            f"date {day} is today in {zone.key} and not over yet; run it from tomorrow on"
        )
    return day


def lock_keys(tenant: str, run_date: date) -> tuple[int, int]:
    """Two int4 advisory-lock keys: a stable hash of the tenant, and the date's ordinal."""
    digest = zlib.crc32(f"triad.dialogue:{tenant}".encode()) - 2**31
    return digest, run_date.toordinal()


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def _try_lock(conn: AsyncConnection, keys: tuple[int, int]) -> bool:
    got = await conn.scalar(
        text("select pg_try_advisory_lock(:a, :b)"), {"a": keys[0], "b": keys[1]}
    )
    await conn.commit()
    return bool(got)


async def _unlock(conn: AsyncConnection, keys: tuple[int, int]) -> None:
    try:
        await conn.scalar(text("select pg_advisory_unlock(:a, :b)"), {"a": keys[0], "b": keys[1]})
        await conn.commit()
    except BaseException:
        await conn.invalidate()  # a pooled connection must never keep the lock
        raise


async def _claim(
    session: AsyncSession, *, tenant: str, run_date: date, trigger: str
) -> DialogueRun | RunOutcome:
    """The run row, marked running (new or retried), or the outcome when the date is done."""
    row = await session.scalar(
        select(DialogueRun)
        .where(DialogueRun.tenant == tenant, DialogueRun.run_date == run_date)
        .with_for_update()
    )
    if row is not None and row.status == "succeeded":
        run_id, attempts = row.id, row.attempts
        await session.rollback()
        return RunOutcome(
            "already_ran", tenant, run_date,
            f"the dialogue for {tenant} on {run_date} already ran (run {run_id}); nothing done",
            run_id, attempts,
        )  # fmt: skip
    if row is None:
        row = DialogueRun(tenant=tenant, run_date=run_date, status="running", attempts=1)
        session.add(row)
    else:
        row.attempts += 1
        row.status = "running"
        row.reason = None
        row.cases = row.groups = row.lessons_proposed = 0
        row.stats = {}
        row.finished_at = None
        row.started_at = datetime.now(UTC)
    row.trigger = trigger
    row.owner = owner_name()
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return RunOutcome(
            "in_progress", tenant, run_date, f"another process started {tenant} on {run_date}"
        )
    return row


async def run_dialogue(
    deps: DialogueDeps,
    *,
    tenant: str,
    run_date: date,
    trigger: str = "schedule",
    progress: Progress | None = None,
) -> RunOutcome:
    """Run the dialogue for one tenant and date, unless another process has or is doing it."""
    say = progress or (lambda _: None)
    keys = lock_keys(tenant, run_date)
    async with deps.engine.connect() as lock:
        if not await _try_lock(lock, keys):
            outcome = RunOutcome(
                "in_progress", tenant, run_date,
                f"the dialogue for {tenant} on {run_date} is running in another process; "
                "nothing done",
            )  # fmt: skip
            log.info(outcome.message)
            return outcome
        try:
            outcome = await _locked_run(
                deps, tenant=tenant, run_date=run_date, trigger=trigger, say=say
            )
        finally:
            await _unlock(lock, keys)
    log.info(outcome.message)
    return outcome


async def _locked_run(
    deps: DialogueDeps, *, tenant: str, run_date: date, trigger: str, say: Progress
) -> RunOutcome:
    async with make_session_factory(deps.engine)() as session:
        claimed = await _claim(session, tenant=tenant, run_date=run_date, trigger=trigger)
        if isinstance(claimed, RunOutcome):
            return claimed
        run_id, attempts = claimed.id, claimed.attempts
        say(f"run {run_id} (attempt {attempts}) for {tenant} on {run_date}")
        try:
            return await _work(deps, session, claimed, say)
        except Exception as exc:
            await session.rollback()
            log.exception("dialogue run %s failed", run_id)
            reason = f"{type(exc).__name__}: {exc}"
            run = await session.get(DialogueRun, run_id, populate_existing=True)
            if run is not None:
                await _finish(session, run, "failed", reason, {})
            return RunOutcome("failed", tenant, run_date, f"failed: {reason}", run_id, attempts)


async def _finish(
    session: AsyncSession, run: DialogueRun, status: str, reason: str | None, stats: dict[str, Any]
) -> None:
    run.status = status
    run.reason = reason
    run.stats = stats
    run.finished_at = datetime.now(UTC)
    await session.commit()


async def _work(
    deps: DialogueDeps, session: AsyncSession, run: DialogueRun, say: Progress
) -> RunOutcome:
    """Gate on the flag and the activation threshold, learn, roll up; one transaction."""
    tenant, day, zone = run.tenant, run.run_date, deps.config.zone
    flag = await get_flag(session, LLM_DIALOGUE, fresh=True)
    sessions = await customer_sessions(session, tenant)
    needed = int(flag.value.get("activation_threshold", 0))
    stats: dict[str, Any] = {"customer_sessions": sessions, "activation_threshold": needed}
    skip = None
    if not flag.enabled:
        skip = f"feature flag {LLM_DIALOGUE} is off"
    elif sessions < needed:
        skip = f"below the activation threshold: {sessions} customer sessions, {needed} needed"
    if skip is None:
        learned = await learn(
            session, tenant=tenant, day=day, zone=zone,
            consensus_threshold=deps.consensus_threshold,
            group_threshold=deps.config.group_threshold,
            duplicate_cosine=deps.config.duplicate_cosine, max_cases=deps.config.max_cases,
            embedder=deps.embedder, writer=deps.writer, sources=deps.sources, run_id=run.id,
            progress=say,
        )  # fmt: skip
        run.cases, run.groups, run.lessons_proposed = (
            learned.cases,
            learned.groups,
            len(learned.proposed),
        )
        stats |= {
            "lessons": learned.proposed,
            "merged_into": learned.merged,
            "writers": dict(learned.writers),
        }
    rollup_zone = ZoneInfo(deps.rollup_timezone)
    if day < datetime.now(rollup_zone).date():
        stats["rollup_rows"] = await rollup_day(
            session, tenant=tenant, day=day, timezone=deps.rollup_timezone
        )
        say(f"rolled up {stats['rollup_rows']} rows in {deps.rollup_timezone}")
    else:  # not over in the rollups' zone: a rollup now would miss its last turns
        stats["rollup_rows"] = None
    if skip is not None:
        await _finish(session, run, "skipped", skip, stats)
        return RunOutcome("skipped", tenant, day, f"skipped: {skip}", run.id, run.attempts, stats)
    await _finish(session, run, "succeeded", None, stats)
    message = f"{run.cases} cases in {run.groups} groups: {run.lessons_proposed} lessons proposed"
    return RunOutcome("succeeded", tenant, day, message, run.id, run.attempts, stats)
