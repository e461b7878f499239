"""The scheduler keeps one nightly job in PostgreSQL, at 02:00 in the configured time zone."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from tests.conftest import TEST_DATABASE
from tests.dialogue.helpers import deps_of
from triad.cli import app as cli_app
from triad.db.models import DialogueRun, SchedulerJob
from triad.dialogue.config import DialogueConfig
from triad.dialogue.scheduler import JOB_ID, start_scheduler, stop_scheduler
from triad.errors import InvalidConfigError
from triad.settings import get_settings


async def _jobs(session: AsyncSession) -> list[SchedulerJob]:
    rows = await session.scalars(select(SchedulerJob).execution_options(populate_existing=True))
    return list(rows)


async def test_app_start_registers_the_nightly_job_and_stops_cleanly(
    app: FastAPI, session: AsyncSession
) -> None:
    jobs = await _jobs(session)
    assert [j.id for j in jobs] == [JOB_ID]


async def test_many_replicas_register_one_job_at_two_in_the_configured_zone(
    app: FastAPI, database_url: str, session: AsyncSession
) -> None:
    deps = deps_of(app)
    zoned = deps.__class__(**{**deps.__dict__, "config": DialogueConfig(timezone="Europe/Berlin")})
    replicas = [start_scheduler(zoned, tenant="demo", database_url=database_url) for _ in range(2)]
    try:
        jobs = await _jobs(session)
        assert [j.id for j in jobs] == [JOB_ID]
        assert jobs[0].next_run_time is not None
        local = datetime.fromtimestamp(jobs[0].next_run_time, zoned.config.zone)
        assert (local.hour, local.minute, local.second) == (2, 0, 0)
        assert local.utcoffset() == zoned.config.zone.utcoffset(local.replace(tzinfo=None))
        assert all(r.get_job(JOB_ID) is not None for r in replicas)
    finally:
        for replica in replicas:
            await stop_scheduler(replica)
    assert not any(r.running for r in replicas)


def test_dialogue_config_defaults_to_the_budgets_zone(tmp_path: Path) -> None:
    empty = tmp_path / "dialogue.yaml"
    empty.write_text("")
    budgets = tmp_path / "budgets.yaml"
    budgets.write_text("timezone: Asia/Tokyo\n")
    assert DialogueConfig.from_yaml(empty, budgets=budgets).zone.key == "Asia/Tokyo"
    assert DialogueConfig.from_yaml(empty).zone.key == "America/Los_Angeles"
    empty.write_text("timezone: Mars/Olympus\n")
    with pytest.raises(InvalidConfigError, match="unknown time zone 'Mars/Olympus'"):
        DialogueConfig.from_yaml(empty, budgets=budgets)


runner = CliRunner()


@pytest.fixture
def cli_database(monkeypatch: pytest.MonkeyPatch, database_url: str) -> object:
    monkeypatch.setenv("TRIAD_DATABASE_NAME", TEST_DATABASE)
    get_settings.cache_clear()
    yield None
    get_settings.cache_clear()


async def test_cli_runs_a_date_by_hand(cli_database: object, session: AsyncSession) -> None:
    result = await asyncio.to_thread(
        runner.invoke, cli_app, ["dialogue", "run", "--date", "2026-01-15"]
    )
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output and "llm_dialogue is off" in result.output
    row = await session.scalar(select(DialogueRun))
    assert row is not None and str(row.run_date) == "2026-01-15" and row.trigger == "manual"

    bad = await asyncio.to_thread(runner.invoke, cli_app, ["dialogue", "run", "--date", "15/01"])
    assert bad.exit_code == 2
    assert "--date must be YYYY-MM-DD" in bad.output


async def test_cli_refuses_today_and_later(cli_database: object, session: AsyncSession) -> None:
    zone = DialogueConfig.from_yaml(
        get_settings().dialogue_config, budgets=get_settings().budgets_config
    ).zone
    today = datetime.now(zone).date()
    for day in (today, today + timedelta(days=1)):
        result = await asyncio.to_thread(
            runner.invoke, cli_app, ["dialogue", "run", "--date", day.isoformat()]
        )
        assert result.exit_code == 2, result.output
        assert f"date {day} is" in result.output
    assert await session.scalar(select(DialogueRun)) is None
