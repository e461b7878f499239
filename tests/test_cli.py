"""The `triad` command: ingest is idempotent and refuses bad paths with exit code 2."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner, Result

from tests.conftest import TEST_DATABASE
from triad.cli import app
from triad.db.models import KnowledgeChunk, KnowledgeDocument, TrainingSignal
from triad.knowledge.ingest import current_knowledge_version
from triad.settings import Settings, get_settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def _cli_uses_test_database(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[None]:
    monkeypatch.setenv("TRIAD_DATABASE_NAME", TEST_DATABASE)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def _invoke(*args: str) -> Result:
    return await asyncio.to_thread(runner.invoke, app, list(args))


async def _counts(session: AsyncSession, tenant: str) -> tuple[int, int, int]:
    docs = await session.scalar(select(func.count()).select_from(KnowledgeDocument))
    chunks = await session.scalar(select(func.count()).select_from(KnowledgeChunk))
    return docs or 0, chunks or 0, await current_knowledge_version(session, tenant)


async def test_ingest_twice_writes_once(
    session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(settings.knowledge_dir, kb)
    first = await _invoke("ingest", str(kb))
    assert first.exit_code == 0, first.output
    assert "knowledge version 1" in first.output
    docs, chunks, version = await _counts(session, settings.tenant)
    assert (docs, version) == (4, 1)
    assert chunks >= 4

    second = await _invoke("ingest", str(kb))
    assert second.exit_code == 0, second.output
    assert "nothing changed" in second.output
    assert await _counts(session, settings.tenant) == (docs, chunks, 1)


async def test_ingest_missing_path_exits_2_and_writes_nothing(
    session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    result = await _invoke("ingest", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert await _counts(session, settings.tenant) == (0, 0, 0)


async def test_ingest_non_markdown_exits_2_and_writes_nothing(
    session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("We serve wagyu.")
    result = await _invoke("ingest", str(notes))
    assert result.exit_code == 2
    assert "markdown" in result.output.lower()
    assert await _counts(session, settings.tenant) == (0, 0, 0)


async def test_ask_runs_the_whole_turn(
    session: AsyncSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`triad ask` with a no-LLM profile (extractive for both roles): real retrieval, critic, DB."""
    config = tmp_path / "ensemble.yaml"
    config.write_text(
        "profiles:\n"
        "  offline:\n"
        '    teacher: {model: "extractive:passages"}\n'
        '    student: {model: "extractive:passages"}\n'
    )
    monkeypatch.setenv("TRIAD_ENSEMBLE_CONFIG", str(config))
    get_settings.cache_clear()
    result = await _invoke("ask", "Do you serve wagyu beef?")
    assert result.exit_code == 0, result.output
    for label in ("agent: menu", "teacher (extractive:passages", "student (extractive:passages"):
        assert label in result.output
    assert "consensus" in result.output and "decision" in result.output
    assert "wagyu" in result.output.lower()
    signals = await session.scalar(select(func.count()).select_from(TrainingSignal))
    assert signals == 1


async def test_ask_unknown_agent_exits_2(session: AsyncSession) -> None:
    result = await _invoke("ask", "hello", "--agent", "astrology")
    assert result.exit_code == 2
    assert "unknown agent 'astrology'" in result.output
