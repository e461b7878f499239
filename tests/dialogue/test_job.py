"""The nightly job: gated by the flag and the activation threshold, once per date, retryable."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.helpers import count_rows
from tests.dialogue.helpers import (
    FailingWriter,
    GatedWriter,
    deps_of,
    enable,
    run_today,
    seed_wagyu,
    today,
)
from triad import flags
from triad.db.models import DailyRollup, DialogueRun, Lesson, Message
from triad.db.session import make_engine
from triad.dialogue.config import DialogueConfig
from triad.dialogue.job import run_dialogue
from triad.dialogue.scheduler import nightly
from triad.routing.budget import BudgetConfig
from triad.runtime import Runtime


async def _run_row(session: AsyncSession) -> DialogueRun:
    row = await session.scalar(select(DialogueRun).execution_options(populate_existing=True))
    assert row is not None
    return row


async def test_flag_off_skips_and_says_why(
    app: FastAPI, runtime: Runtime, client: httpx.AsyncClient, demo: None, session: AsyncSession
) -> None:
    await seed_wagyu(runtime, client)
    outcome = await run_today(app)
    assert outcome.outcome == "skipped"
    assert "llm_dialogue is off" in outcome.message
    assert await count_rows(session, Lesson) == 0
    row = await _run_row(session)
    assert (row.status, row.run_date) == ("skipped", today(app))
    assert row.reason == "feature flag llm_dialogue is off"
    assert row.finished_at is not None


async def test_below_threshold_skips_with_the_counts(
    app: FastAPI, runtime: Runtime, client: httpx.AsyncClient, demo: None, session: AsyncSession
) -> None:
    await seed_wagyu(runtime, client, turns=2)
    await enable(session, threshold=5)
    outcome = await run_today(app)
    assert outcome.outcome == "skipped"
    assert await count_rows(session, Lesson) == 0
    row = await _run_row(session)
    assert row.status == "skipped"
    assert row.reason == "below the activation threshold: 2 customer sessions, 5 needed"
    assert row.stats["customer_sessions"] == 2


async def test_default_threshold_is_1000_sessions(
    app: FastAPI, runtime: Runtime, client: httpx.AsyncClient, demo: None, session: AsyncSession
) -> None:
    await seed_wagyu(runtime, client)
    await flags.set_flag(session, flags.LLM_DIALOGUE, enabled=True)
    outcome = await run_today(app)
    assert outcome.outcome == "skipped"
    assert "1 customer sessions, 1000 needed" in outcome.message


async def test_second_run_of_a_date_does_nothing(
    app: FastAPI, runtime: Runtime, client: httpx.AsyncClient, demo: None, session: AsyncSession
) -> None:
    await seed_wagyu(runtime, client)
    await enable(session)
    first = await run_today(app)
    assert first.outcome == "succeeded", first.message
    again = await run_today(app)
    assert again.outcome == "already_ran"
    assert not again.did_work and "nothing done" in again.message
    assert await count_rows(session, Lesson) == 1
    assert (await _run_row(session)).attempts == 1


async def test_concurrent_runs_on_separate_connections_work_once(
    app: FastAPI, runtime: Runtime, client: httpx.AsyncClient, demo: None, session: AsyncSession
) -> None:
    await seed_wagyu(runtime, client)
    await enable(session)
    url = app.state.session_factory.kw["bind"].url
    engines = [make_engine(url.render_as_string(hide_password=False)) for _ in range(2)]
    try:
        both = [dataclasses.replace(deps_of(app), engine=e) for e in engines]
        outcomes = await asyncio.gather(*(run_today(app, d) for d in both))
    finally:
        for e in engines:
            await e.dispose()
    assert sorted(o.did_work for o in outcomes) == [False, True]
    idle = next(o for o in outcomes if not o.did_work)
    assert idle.outcome in ("in_progress", "already_ran")
    assert await count_rows(session, DialogueRun) == 1
    assert await count_rows(session, Lesson) == 1


async def test_a_run_in_progress_elsewhere_is_left_alone(
    app: FastAPI, runtime: Runtime, client: httpx.AsyncClient, demo: None, session: AsyncSession
) -> None:
    await seed_wagyu(runtime, client)
    await enable(session)
    gated = GatedWriter()
    url = app.state.session_factory.kw["bind"].url.render_as_string(hide_password=False)
    other = make_engine(url)
    try:
        first = asyncio.create_task(run_today(app, dataclasses.replace(deps_of(app), writer=gated)))
        await asyncio.wait_for(gated.inside.wait(), timeout=30)
        second = await run_today(app, dataclasses.replace(deps_of(app), engine=other))
        assert second.outcome == "in_progress"
        assert "running in another process" in second.message
        assert (await _run_row(session)).status == "running"
        gated.gate.set()
        done = await first
    finally:
        gated.gate.set()
        await other.dispose()
    assert done.outcome == "succeeded"
    assert await count_rows(session, Lesson) == 1


async def test_a_failed_run_is_retried_and_leaves_nothing_half_written(
    app: FastAPI, runtime: Runtime, client: httpx.AsyncClient, demo: None, session: AsyncSession
) -> None:
    await seed_wagyu(runtime, client)
    await enable(session)
    failed = await run_today(app, dataclasses.replace(deps_of(app), writer=FailingWriter()))
    assert failed.outcome == "failed"
    assert "RuntimeError: writer crashed" in failed.message
    row = await _run_row(session)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "writer crashed" in (row.reason or "")
    assert await count_rows(session, Lesson) == 0

    retried = await run_today(app)
    assert retried.outcome == "succeeded"
    row = await _run_row(session)
    assert (row.status, row.attempts, row.lessons_proposed) == ("succeeded", 2, 1)
    assert await count_rows(session, Lesson) == 1


async def test_a_run_left_running_by_a_dead_process_is_retried(
    app: FastAPI, runtime: Runtime, client: httpx.AsyncClient, demo: None, session: AsyncSession
) -> None:
    await seed_wagyu(runtime, client)
    await enable(session)
    session.add(DialogueRun(tenant="demo", run_date=today(app), status="running", owner="dead:1"))
    await session.commit()
    outcome = await run_today(app)
    assert outcome.outcome == "succeeded"
    row = await _run_row(session)
    assert (row.status, row.attempts) == ("succeeded", 2)
    assert row.owner != "dead:1"


async def test_a_skipped_night_runs_again_once_enabled(
    app: FastAPI, runtime: Runtime, client: httpx.AsyncClient, demo: None, session: AsyncSession
) -> None:
    await seed_wagyu(runtime, client)
    assert (await run_today(app)).outcome == "skipped"
    await enable(session)
    outcome = await run_today(app)
    assert outcome.outcome == "succeeded"
    assert outcome.attempts == 2
    assert (await _run_row(session)).reason is None


async def test_rollups_use_the_budgets_zone_not_the_dialogues(
    app: FastAPI, runtime: Runtime, client: httpx.AsyncClient, demo: None, session: AsyncSession
) -> None:
    budgets_zone = BudgetConfig.from_yaml(runtime.settings.budgets_config).timezone
    assert deps_of(app).rollup_timezone == budgets_zone
    await seed_wagyu(runtime, client)
    # 03:00 UTC on 10 March is 9 March in Los Angeles but 10 March in Kiritimati (UTC+14)
    await session.execute(update(Message).values(created_at=datetime(2026, 3, 10, 3, tzinfo=UTC)))
    await session.commit()
    deps = dataclasses.replace(
        deps_of(app),
        config=DialogueConfig(timezone="Pacific/Kiritimati"),
        rollup_timezone="America/Los_Angeles",
    )
    outcome = await run_dialogue(deps, tenant="demo", run_date=date(2026, 3, 9))
    assert outcome.outcome == "skipped"  # the flag is off; the day is rolled up all the same
    assert outcome.stats["rollup_rows"] == 2
    days = set(await session.scalars(select(DailyRollup.day)))
    assert days == {date(2026, 3, 9)}


async def test_a_day_not_over_in_the_budgets_zone_is_not_rolled_up(
    app: FastAPI, runtime: Runtime, client: httpx.AsyncClient, demo: None, session: AsyncSession
) -> None:
    await seed_wagyu(runtime, client)
    outcome = await run_today(app)
    assert outcome.stats["rollup_rows"] is None
    assert await count_rows(session, DailyRollup) == 0


async def test_the_nightly_job_retries_failed_days_of_the_last_three(
    app: FastAPI, session: AsyncSession
) -> None:
    deps = deps_of(app)
    now = datetime(2026, 3, 10, 2, 0, tzinfo=deps.config.zone)
    old = {
        date(2026, 3, 8): "skipped",
        date(2026, 3, 7): "failed",
        date(2026, 3, 6): "failed",
        date(2026, 3, 5): "failed",
        date(2026, 3, 4): "succeeded",
    }
    for day, status in old.items():
        session.add(DialogueRun(tenant="demo", run_date=day, status=status, trigger="schedule"))
    session.add(DialogueRun(tenant="other", run_date=date(2026, 3, 7), status="failed"))
    await session.commit()

    outcomes = await nightly(deps, tenant="demo", now=now)
    assert [(o.run_date, o.outcome) for o in outcomes] == [
        (date(2026, 3, 9), "skipped"),
        (date(2026, 3, 6), "skipped"),
        (date(2026, 3, 7), "skipped"),
    ]
    rows = {
        (r.tenant, r.run_date): r
        for r in await session.scalars(
            select(DialogueRun).execution_options(populate_existing=True)
        )
    }
    assert rows["demo", date(2026, 3, 9)].trigger == "schedule"
    for day in (date(2026, 3, 6), date(2026, 3, 7)):
        assert (rows["demo", day].trigger, rows["demo", day].attempts) == ("retry", 2)
    assert rows["demo", date(2026, 3, 5)].status == "failed"  # beyond the three days
    assert rows["demo", date(2026, 3, 8)].attempts == 1  # skipped days are not retried
    assert rows["other", date(2026, 3, 7)].status == "failed"  # another tenant's
