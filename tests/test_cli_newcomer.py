"""The CLI rough edges: one-file ingest says what it does, `triad models` fits 80 columns,
`make run PORT=...` and `triad serve --port` choose the port."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner, Result

from tests.conftest import TEST_DATABASE
from tests.support.serve import start_server
from triad.cli import app
from triad.db.models import KnowledgeDocument
from triad.settings import PROJECT_ROOT, Settings, get_settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def _cli_uses_test_database(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[None]:
    monkeypatch.setenv("TRIAD_DATABASE_NAME", TEST_DATABASE)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def _invoke(*args: str) -> Result:
    return await asyncio.to_thread(runner.invoke, app, list(args))


async def _sources(session: AsyncSession) -> set[str]:
    session.expire_all()
    return set(await session.scalars(select(KnowledgeDocument.source)))


def _kb(tmp_path: Path) -> tuple[Path, Path]:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "menu.md").write_text("# Menu\n\nChicken, shrimp and NY strip steak.\n")
    (kb / "faq.md").write_text("# FAQ\n\nWe cook at your home, on our own grill.\n")
    extra = tmp_path / "specials.md"
    extra.write_text("# Specials\n\nLobster tails on Fridays in summer.\n")
    return kb, extra


async def test_one_file_needs_an_explicit_choice_and_writes_nothing_without_it(
    session: AsyncSession, tmp_path: Path
) -> None:
    kb, extra = _kb(tmp_path)
    assert (await _invoke("ingest", str(kb))).exit_code == 0
    refused = await _invoke("ingest", str(extra))
    assert refused.exit_code == 2
    assert "--add" in refused.output and "--replace" in refused.output
    assert await _sources(session) == {"menu.md", "faq.md"}


async def test_add_keeps_the_rest_and_warns_that_a_folder_ingest_replaces(
    session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    kb, extra = _kb(tmp_path)
    assert (await _invoke("ingest", str(kb))).exit_code == 0
    added = await _invoke("ingest", str(extra), "--add")
    assert added.exit_code == 0, added.output
    assert "nothing removed" in added.output and "--replace" in added.output
    assert await _sources(session) == {"menu.md", "faq.md", "specials.md"}

    kept = await _invoke("ingest", str(kb), "--add")
    assert kept.exit_code == 0, kept.output
    assert await _sources(session) == {"menu.md", "faq.md", "specials.md"}

    replaced = await _invoke("ingest", str(kb))
    assert replaced.exit_code == 0, replaced.output
    assert "removed (not in" in replaced.output and "specials.md" in replaced.output
    assert await _sources(session) == {"menu.md", "faq.md"}


async def test_replace_with_one_file_makes_it_the_whole_knowledge_base(
    session: AsyncSession, tmp_path: Path
) -> None:
    kb, extra = _kb(tmp_path)
    assert (await _invoke("ingest", str(kb))).exit_code == 0
    result = await _invoke("ingest", str(extra), "--replace")
    assert result.exit_code == 0, result.output
    assert await _sources(session) == {"specials.md"}


def test_models_fits_80_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert "…" not in result.output
    assert any(line.startswith("openai:gpt-4o-mini  needs OPENAI_API_KEY") for line in lines)
    assert "local:smollm2-135m  ready" in lines


def _planned(*args: str) -> str:
    """The command `make run` would start (`make -n`), also when make itself runs the tests
    (a nested make prints "Entering/Leaving directory" lines around it)."""
    lines = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [line for line in lines if "triad serve" in line][-1].rstrip()


def test_make_run_passes_port_to_serve() -> None:
    assert _planned("PORT=8123").endswith("triad serve --port 8123")
    assert _planned().endswith("triad serve")


async def test_serve_on_port_0_prints_the_port_it_got(database_url: str) -> None:
    env = {**os.environ, "TRIAD_DATABASE_NAME": TEST_DATABASE, "TRIAD_SCHEDULER": "false"}
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        env.pop(name, None)
    server, port = await start_server(env)  # fails unless the line says where it serves
    try:
        assert port not in (0, 8000)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(240):
                try:
                    health = await client.get("/health")
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.5)
            else:
                raise AssertionError("the server never answered on the port it printed")
        assert health.status_code == 200
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=60)
