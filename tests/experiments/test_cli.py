"""`triad experiments report` against the test database: the per-arm table and the call."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner, Result

from tests.conftest import TEST_DATABASE
from triad.cli import app
from triad.experiments.config import ExperimentsConfig
from triad.experiments.store import sync_experiments
from triad.settings import get_settings

runner = CliRunner()
CONFIG = {
    "experiments": [
        {
            "key": "menu-ab",
            "target_kind": "agent",
            "target": "menu",
            "alpha": 0.01,
            "arms": [
                {"name": "control", "share": 50},
                {"name": "bigger", "share": 50, "student_model": "anthropic:claude-haiku-4-5"},
            ],
        }
    ]
}


@pytest.fixture(autouse=True)
def _cli_uses_test_database(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[None]:
    monkeypatch.setenv("TRIAD_DATABASE_NAME", TEST_DATABASE)
    monkeypatch.setenv("COLUMNS", "240")  # room for every column of the tables
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def invoke(*args: str) -> Result:
    return await asyncio.to_thread(runner.invoke, app, list(args))


async def test_report_prints_the_arms_table_and_says_it_is_too_early(
    session: AsyncSession,
) -> None:
    await sync_experiments(session, ExperimentsConfig.model_validate(CONFIG))
    result = await invoke("experiments", "report", "menu-ab")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "menu-ab" in out and "draft" in out
    header = next(line for line in out.splitlines() if "p50 ms" in line)
    columns = ["arm", "turns", "p50 ms", "p95 ms", "error", "cost/turn", "win", "halluc."]
    positions = [header.index(c) for c in [*columns, "escal.", "thumbs-up"]]
    assert positions == sorted(positions)
    rows = [line for line in out.splitlines() if "control" in line or "bigger" in line]
    assert any("control" in r and " 0 " in r for r in rows)
    assert "too early to call" in out
    assert "99% CI" in out and "95% CI" not in out


async def test_report_of_an_unknown_experiment_exits_2(session: AsyncSession) -> None:
    result = await invoke("experiments", "report", "no-such-experiment")
    assert result.exit_code == 2
    assert "experiment 'no-such-experiment' not found" in result.output
