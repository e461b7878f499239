"""`triad export-signals`: valid JSON lines, gold answers first, the quality bar, no personal
data, and a summary of what was skipped and why."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner, Result

from tests.analytics.seed import ask, open_chat, staff_reply
from tests.api.helpers import GROUNDED, HALLUCINATED, NOT_IN_KNOWLEDGE
from tests.conftest import TEST_DATABASE
from triad.cli import app
from triad.db.models import Candidate
from triad.runtime import Runtime
from triad.settings import get_settings

runner = CliRunner()

INTRO = (
    "Hi, my name is Sarah Lee. We live at 1234 Oak Street, Apt 5. Reach me at "
    "sarah.lee@example.com or (415) 555-0199. Do you serve wagyu beef?"
)
GOLD = "Hi Sarah, we do not serve wagyu; our steak is the NY strip."
PII = ["sarah", "lee", "sarah.lee@example.com", "555-0199", "1234 oak street"]


@pytest.fixture(autouse=True)
def _cli_uses_test_database(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[None]:
    monkeypatch.setenv("TRIAD_DATABASE_NAME", TEST_DATABASE)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def _invoke(*args: str) -> Result:
    return await asyncio.to_thread(runner.invoke, app, list(args))


@pytest.fixture
async def signals(client: httpx.AsyncClient, runtime: Runtime, demo: None) -> dict[str, int]:
    """Two conversations, five signals:

    1 (Sarah's): the teacher finds no answer in the knowledge base, the student hallucinates;
      the abstention is sent and escalated, answered by staff (gold)
    2 (Sarah's, follow-up): both hallucinate (held, no staff answer yet)
    5 (Sarah's, third question): teacher clean, student hallucinates (critic winner, sent)
    3: teacher clean, student hallucinates (critic winner, sent: nobody from staff)
    4: both clean (nothing to reject)
    """
    sarah = await open_chat(client)
    first = await ask(client, runtime, NOT_IN_KNOWLEDGE, HALLUCINATED, INTRO, chat=sarah)
    await staff_reply(client, first, GOLD)
    held = await ask(client, runtime, HALLUCINATED, HALLUCINATED, "So can I get wagyu?", chat=sarah)
    critic = await ask(client, runtime, GROUNDED, HALLUCINATED, "Is wagyu on the menu?")
    clean = await ask(client, runtime, GROUNDED, GROUNDED, "Do you have wagyu steak?")
    later = await ask(client, runtime, GROUNDED, HALLUCINATED, "Which steak then?", chat=sarah)
    return {"gold": first, "held": held, "critic": critic, "clean": clean, "later": later}


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_dpo_pairs(signals: dict[str, int], tmp_path: Path) -> None:
    out = tmp_path / "dpo.jsonl"
    result = await _invoke("export-signals", str(out), "--format", "dpo")
    assert result.exit_code == 0, result.output
    lines = _lines(out)
    assert all({"prompt", "chosen", "rejected", "meta"} <= set(line) for line in lines)
    by_message = {line["meta"]["message_id"]: line for line in lines}
    assert set(by_message) == {signals["gold"], signals["critic"], signals["later"]}

    gold = by_message[signals["gold"]]
    assert gold["meta"]["source"] == "gold"
    assert gold["chosen"] == GOLD.replace("Sarah", "[NAME]")  # staff beat the critic's winner
    assert gold["rejected"] == HALLUCINATED
    assert "Customer: Hi, my name is [NAME]." in gold["prompt"]
    assert "[ADDRESS]" in gold["prompt"] and "[EMAIL]" in gold["prompt"]
    assert "[PHONE]" in gold["prompt"]
    assert "Knowledge:" in gold["prompt"] and "wagyu" in gold["prompt"].lower()

    critic = by_message[signals["critic"]]
    assert critic["meta"]["source"] == "critic"
    assert (critic["chosen"], critic["rejected"]) == (GROUNDED, HALLUCINATED)
    assert critic["prompt"].endswith("Customer: Is wagyu on the menu?")
    assert "Conversation so far" not in critic["prompt"]

    later = by_message[signals["later"]]["prompt"]
    history = later[later.index("Conversation so far:") :]
    assert history.startswith("Conversation so far:\nCustomer: Hi, my name is [NAME].")
    assert f"\nAssistant: {NOT_IN_KNOWLEDGE}\n" in history  # sent, and staff followed up
    assert "\nStaff: Hi [NAME], we do not serve wagyu" in history
    assert "\nCustomer: So can I get wagyu?\n" in history
    assert history.endswith("\n\nCustomer: Which steak then?")

    text = out.read_text().lower()
    for secret in PII:
        assert not re.search(rf"\b{re.escape(secret)}\b", text), secret

    assert re.search(r"exported\s+\W\s+3\b", result.output), result.output
    assert "winner has unsupported claims" in result.output  # the held turn
    assert "no rejected answer with unsupported claims" in result.output  # the clean turn


async def test_sft_pairs_and_the_quality_bar(
    signals: dict[str, int], tmp_path: Path, session: AsyncSession
) -> None:
    out = tmp_path / "sft.jsonl"
    result = await _invoke("export-signals", str(out), "--format", "sft", "--since", "2020-01-01")
    assert result.exit_code == 0, result.output
    lines = _lines(out)
    assert all(set(line) == {"prompt", "completion", "meta"} for line in lines)
    assert sorted(line["meta"]["message_id"] for line in lines) == sorted(
        [signals["gold"], signals["critic"], signals["clean"], signals["later"]]
    )
    assert {line["completion"] for line in lines} == {GOLD.replace("Sarah", "[NAME]"), GROUNDED}

    # A winner with no failed claim but a claim the critic could not verify scores below 1.0;
    # the quality bar drops it, while a staff answer (gold) is never scored.
    await session.execute(
        update(Candidate)
        .where(Candidate.message_id.in_([signals["critic"], signals["clean"], signals["later"]]))
        .values(score=0.9)
    )
    await session.commit()
    strict = tmp_path / "strict.jsonl"
    result = await _invoke("export-signals", str(strict), "--format", "sft", "--min-score", "0.95")
    assert result.exit_code == 0, result.output
    assert [line["meta"]["source"] for line in _lines(strict)] == ["gold"]
    assert "winner score below min score" in result.output


async def test_since_and_bad_options(signals: dict[str, int], tmp_path: Path) -> None:
    future = tmp_path / "future.jsonl"
    result = await _invoke("export-signals", str(future), "--since", "2999-01-01")
    assert result.exit_code == 0, result.output
    assert future.read_text() == ""

    bad = await _invoke("export-signals", str(tmp_path / "x.jsonl"), "--format", "csv")
    assert bad.exit_code == 2 and "--format" in bad.output
    bad = await _invoke("export-signals", str(tmp_path / "x.jsonl"), "--since", "soon")
    assert bad.exit_code == 2 and "--since" in bad.output
    assert not (tmp_path / "x.jsonl").exists()
