"""The nightly job: gated by the flag and the activation threshold, once per date, retryable."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
from fastapi import FastAPI
from sqlalchemy import select
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
from triad.db.models import DialogueRun, Lesson
from triad.db.session import make_engine
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
