"""rollup_day: exact counts per agent, role, provider and model, business days, idempotence."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from tests.analytics.scenario import five_turns
from tests.analytics.seed import STUDENT_MODEL, TEACHER_MODEL, place
from tests.conftest import TEST_DATABASE
from triad.analytics.rollups import KEYS, MEASURES, rollup_day
from triad.cli import app
from triad.db.models import DailyRollup
from triad.runtime import Runtime
from triad.settings import get_settings

TZ = "America/Los_Angeles"
MAR10 = date(2026, 3, 10)
NOON_MAR10 = datetime(2026, 3, 10, 19, 0, tzinfo=UTC)  # 12:00 in Los Angeles
LATE_MAR9 = datetime(2026, 3, 10, 6, 30, tzinfo=UTC)  # 23:30 on 9 March in Los Angeles


async def _rows(session: AsyncSession) -> dict[tuple[str, str, str], dict[str, Any]]:
    session.expire_all()
    found = await session.scalars(select(DailyRollup).order_by(DailyRollup.id))
    return {
        (r.role, r.provider, r.model): {n: getattr(r, n) for n in (*KEYS, *MEASURES)} for r in found
    }


@pytest.fixture
async def seeded(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> list[int]:
    return await five_turns(client, runtime, session, at=NOON_MAR10)


async def test_counts_are_exact(
    client: httpx.AsyncClient, session: AsyncSession, seeded: list[int]
) -> None:
    assert await rollup_day(session, tenant="demo", day=MAR10, timezone=TZ) == 3
    await session.commit()
    rows = await _rows(session)
    assert set(rows) == {
        ("teacher", "scripted", TEACHER_MODEL),
        ("student", "scripted", STUDENT_MODEL),
        ("student", "local", "smollm2-135m"),  # D: the failed role keeps its configured model
    }
    teacher = rows[("teacher", "scripted", TEACHER_MODEL)]
    assert (teacher["day"], teacher["tenant"], teacher["agent"]) == (MAR10, "demo", "menu")
    counts = ("turns", "answers", "errors", "wins", "losses", "ties", "unsupported")
    # the teacher: B and D won, A, C and E tied; C hallucinated
    assert [teacher[n] for n in counts] == [5, 5, 0, 2, 0, 3, 1]
    # C held and E sent with staff asked (B, with only the student wrong, was just sent);
    # thumbs up on A and E and down on B are the teacher's, whose text was sent; C's holding
    # reply is nobody's
    assert [teacher[n] for n in ("escalations", "thumbs_up", "thumbs_down")] == [2, 2, 1]
    student = rows[("student", "scripted", STUDENT_MODEL)]
    assert [student[n] for n in counts] == [4, 4, 0, 0, 1, 3, 2]
    assert [student[n] for n in ("escalations", "thumbs_up", "thumbs_down")] == [2, 0, 0]
    failed = rows[("student", "local", "smollm2-135m")]
    assert [failed[n] for n in counts] == [1, 0, 1, 0, 1, 0, 0]
    assert failed["escalations"] == 0
    # consensus: A 1.0, B 0.8, C 0.0, D 0.75, E 0.4333 (the critic's, stored per turn)
    assert teacher["consensus_sum"] == pytest.approx(1.0 + 0.8 + 0.0 + 0.75 + 0.4333, abs=1e-6)
    assert student["consensus_sum"] + failed["consensus_sum"] == pytest.approx(
        teacher["consensus_sum"]
    )


async def test_rollup_twice_gives_the_same_rows(
    client: httpx.AsyncClient, session: AsyncSession, seeded: list[int]
) -> None:
    await rollup_day(session, tenant="demo", day=MAR10, timezone=TZ)
    await session.commit()
    first = await _rows(session)
    assert await rollup_day(session, tenant="demo", day=MAR10, timezone=TZ) == 3
    await session.commit()
    assert await _rows(session) == first


async def test_days_are_business_days_and_stale_groups_go(
    client: httpx.AsyncClient, session: AsyncSession, seeded: list[int]
) -> None:
    await rollup_day(session, tenant="demo", day=MAR10, timezone=TZ)
    await session.commit()
    # D is the only turn of the local model; move it to 23:30 on 9 March, Los Angeles time
    # (already 10 March in UTC): 10 March loses that group, 9 March gets it.
    await place(session, seeded[3], LATE_MAR9)
    assert await rollup_day(session, tenant="demo", day=MAR10, timezone=TZ) == 2
    assert await rollup_day(session, tenant="demo", day=date(2026, 3, 9), timezone=TZ) == 2
    await session.commit()
    rows = await session.scalars(select(DailyRollup).order_by(DailyRollup.day, DailyRollup.role))
    days = [(r.day, r.role, r.model, r.turns) for r in rows]
    assert days == [
        (date(2026, 3, 9), "student", "smollm2-135m", 1),
        (date(2026, 3, 9), "teacher", TEACHER_MODEL, 1),
        (MAR10, "student", STUDENT_MODEL, 4),
        (MAR10, "teacher", TEACHER_MODEL, 4),
    ]


async def test_other_tenants_and_empty_days_write_nothing(
    client: httpx.AsyncClient, session: AsyncSession, seeded: list[int]
) -> None:
    assert await rollup_day(session, tenant="elsewhere", day=MAR10, timezone=TZ) == 0
    assert await rollup_day(session, tenant="demo", day=date(2026, 3, 11), timezone=TZ) == 0
    await session.commit()
    assert await _rows(session) == {}


@pytest.fixture
def cli_on_test_database(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[None]:
    monkeypatch.setenv("TRIAD_DATABASE_NAME", TEST_DATABASE)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def test_rollup_command(
    client: httpx.AsyncClient,
    session: AsyncSession,
    seeded: list[int],
    cli_on_test_database: None,
) -> None:
    runner = CliRunner()
    done = await asyncio.to_thread(runner.invoke, app, ["rollup", "--date", "2026-03-10"])
    assert done.exit_code == 0, done.output
    assert "2026-03-10: 3 rollup rows (America/Los_Angeles)" in done.output
    assert len(await _rows(session)) == 3
    again = await asyncio.to_thread(runner.invoke, app, ["rollup", "--date", "2026-03-10"])
    assert again.exit_code == 0 and len(await _rows(session)) == 3
    bad = await asyncio.to_thread(runner.invoke, app, ["rollup", "--date", "10/03/2026"])
    assert bad.exit_code == 2 and "--date" in bad.output
