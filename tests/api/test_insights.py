"""Admin insights: win rates (live and rolled up), consensus histogram, disagreements, model
health and lesson effects; admins only, bad input named in a 422."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.analytics.scenario import UPGRADE_QUESTION, five_turns
from tests.analytics.seed import STUDENT_MODEL, TEACHER_MODEL, ask, place
from tests.api.conftest import ADMIN_HEADERS, STAFF_HEADERS
from tests.api.helpers import (
    FILET_UPGRADE,
    GROUNDED,
    HALLUCINATED,
    LOBSTER_UPGRADE,
    NOT_IN_KNOWLEDGE,
)
from triad.analytics.rollups import rollup_day
from triad.db.models import DailyRollup, Lesson
from triad.routing.breaker import Permit
from triad.runtime import Runtime

TZ = "America/Los_Angeles"


@pytest.fixture
async def seeded(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> list[int]:
    """The five turns of `tests.analytics.scenario`, today."""
    return await five_turns(client, runtime, session)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/api/win-rates",
        "/admin/api/consensus-histogram",
        "/admin/api/disagreements",
        "/admin/api/providers/health",
        "/admin/api/lessons/1/effect",
        "/admin/api/lessons/effects",
    ],
)
async def test_admins_only(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 401
    assert (await client.get(path, headers=STAFF_HEADERS)).status_code == 403


async def test_win_rates_live_by_role(client: httpx.AsyncClient, seeded: list[int]) -> None:
    response = await client.get("/admin/api/win-rates?group_by=role", headers=ADMIN_HEADERS)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["group_by"] == ["role"] and body["timezone"] == TZ
    rows = {r["role"]: r for r in body["rows"]}
    teacher, student = rows["teacher"], rows["student"]
    # the teacher: B and D won, A, C and E tied, C hallucinated; C and E went to staff
    assert (teacher["wins"], teacher["losses"], teacher["ties"]) == (2, 0, 3)
    assert teacher["win_rate"] == 0.4 and teacher["hallucination_rate"] == 0.2
    assert teacher["escalation_rate"] == 0.4 and teacher["answers"] == 5
    # the student: B lost, A, C and E tied, D failed (an error and a loss)
    assert (student["wins"], student["losses"], student["ties"]) == (0, 2, 3)
    assert (student["answers"], student["errors"]) == (4, 1)
    assert student["win_rate"] == 0.0
    assert student["hallucination_rate"] == 0.5  # B and C
    assert student["escalation_rate"] == 0.4  # C and E, of five turns
    assert teacher["mean_consensus"] == pytest.approx(
        (1.0 + 0.8 + 0.0 + 0.75 + 0.4333) / 5, abs=1e-6
    )
    assert teacher["day"] is None and teacher["model"] is None


async def test_win_rates_default_grouping(client: httpx.AsyncClient, seeded: list[int]) -> None:
    body = (await client.get("/admin/api/win-rates", headers=ADMIN_HEADERS)).json()
    assert body["group_by"] == ["day", "role", "provider", "model"]
    assert (datetime.fromisoformat(body["to"]) - datetime.fromisoformat(body["from"])).days == 29
    keys = sorted((r["role"], r["provider"], r["model"]) for r in body["rows"])
    assert keys == [
        ("student", "local", "smollm2-135m"),
        ("student", "scripted", STUDENT_MODEL),
        ("teacher", "scripted", TEACHER_MODEL),
    ]
    assert len({r["day"] for r in body["rows"]}) == 1


async def test_rolled_up_days_come_from_the_rollups(
    client: httpx.AsyncClient, session: AsyncSession, seeded: list[int]
) -> None:
    """A past day with rollups is read from them; today is computed live."""
    past = datetime.now(UTC) - timedelta(days=3)
    await place(session, seeded[0], past)  # turn A, three days ago
    day = past.astimezone(ZoneInfo(TZ)).date()
    assert await rollup_day(session, tenant="demo", day=day, timezone=TZ) == 2
    await session.execute(
        update(DailyRollup).where(DailyRollup.role == "teacher").values(wins=7, ties=0)
    )
    await session.commit()
    body = (
        await client.get("/admin/api/win-rates?group_by=day,role", headers=ADMIN_HEADERS)
    ).json()
    rows = {(r["day"], r["role"]): r for r in body["rows"]}
    assert rows[(day.isoformat(), "teacher")]["wins"] == 7  # the stored row, not a recount
    live = [r for (d, role), r in rows.items() if d != day.isoformat() and role == "teacher"]
    assert [(r["turns"], r["wins"], r["ties"]) for r in live] == [(4, 2, 2)]  # B, C, D, E


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2026-03-10&to=2026-03-01", "'from' (2026-03-10) is after 'to' (2026-03-01)"),
        ("from=2020-01-01&to=2026-03-01", "at most 366"),
        ("group_by=day,colour", "colour"),
    ],
)
async def test_win_rates_bad_input_is_a_422(
    client: httpx.AsyncClient, query: str, named: str
) -> None:
    response = await client.get(f"/admin/api/win-rates?{query}", headers=ADMIN_HEADERS)
    assert response.status_code == 422
    assert named in response.text


async def test_histogram_bins_add_up_to_the_turns(
    client: httpx.AsyncClient, seeded: list[int]
) -> None:
    response = await client.get("/admin/api/consensus-histogram?bins=4", headers=ADMIN_HEADERS)
    assert response.status_code == 200, response.text
    body = response.json()
    # consensus: A 1.0 (the last bin is closed), B 0.8, C 0.0, D 0.75, E 0.4333
    assert [b["turns"] for b in body["bins"]] == [1, 1, 0, 3]
    assert [b["lower"] for b in body["bins"]] == [0.0, 0.25, 0.5, 0.75]
    assert body["turns"] == 5 == sum(b["turns"] for b in body["bins"])
    other = await client.get("/admin/api/consensus-histogram?agent=pricing", headers=ADMIN_HEADERS)
    assert other.json()["turns"] == 0
    bad = await client.get("/admin/api/consensus-histogram?bins=0", headers=ADMIN_HEADERS)
    assert bad.status_code == 422 and "bins" in bad.text


async def test_disagreements_are_the_low_consensus_turns(
    client: httpx.AsyncClient, seeded: list[int]
) -> None:
    response = await client.get("/admin/api/disagreements?limit=5", headers=ADMIN_HEADERS)
    assert response.status_code == 200, response.text
    found = response.json()
    # under the 0.7 threshold: E then C, newest first (B, D and A were trusted enough to send)
    assert [d["message_id"] for d in found] == [seeded[4], seeded[2]]
    e, c = found
    assert e["question"] == UPGRADE_QUESTION
    assert e["answers"] == {"teacher": FILET_UPGRADE, "student": LOBSTER_UPGRADE}
    assert e["decision"] == "send_and_escalate" and e["consensus"] == pytest.approx(0.4333)
    assert c["answers"] == {"teacher": HALLUCINATED, "student": HALLUCINATED}
    assert c["decision"] == "hold_and_escalate" and c["consensus"] == 0.0
    wider = await client.get("/admin/api/disagreements?limit=3&below=0.99", headers=ADMIN_HEADERS)
    assert [d["message_id"] for d in wider.json()] == [seeded[4], seeded[3], seeded[2]]
    every = await client.get("/admin/api/disagreements?limit=5&below=0.99", headers=ADMIN_HEADERS)
    b = every.json()[-1]  # B: sent, the refuted student a training signal (consensus 0.8)
    assert b["message_id"] == seeded[1] and b["question"] == "Is wagyu on the menu?"
    assert b["answers"] == {"teacher": GROUNDED, "student": HALLUCINATED}
    assert b["decision"] == "send" and b["consensus"] == pytest.approx(0.8)
    assert len(every.json()) == 4  # A (consensus 1.0) is not below 0.99


async def test_provider_health(
    client: httpx.AsyncClient, runtime: Runtime, seeded: list[int]
) -> None:
    breaker = runtime.router.breakers["openai:gpt-4o-mini"]
    for _ in range(breaker.policy.min_calls):
        breaker.failure(Permit.CALL)
    response = await client.get("/admin/api/providers/health", headers=ADMIN_HEADERS)
    assert response.status_code == 200, response.text
    models = {m["model_id"]: m for m in response.json()}
    assert set(runtime.registry.ids()) <= set(models)
    assert models["openai:gpt-4o-mini"]["circuit"] == "open"
    assert models["openai:gpt-4o-mini"]["reopens_in_s"] > 0
    local = models["local:smollm2-135m"]
    assert local["circuit"] == "closed"
    assert (local["calls"], local["errors"], local["error_rate"]) == (5, 1, 0.2)
    assert local["p95_latency_ms"] is not None
    assert models["anthropic:claude-haiku-4-5"]["calls"] == 0  # skipped, never called


async def test_lesson_effect_before_and_after(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    reviewed = datetime.now(UTC) - timedelta(days=1)
    before = [
        await ask(client, runtime, GROUNDED, HALLUCINATED),  # 2 answers, 1 wagyu claim
        await ask(client, runtime, HALLUCINATED, HALLUCINATED, "Wagyu?"),  # 2 answers, 2 claims
    ]
    too_old = await ask(client, runtime, HALLUCINATED, HALLUCINATED, "Any wagyu?")
    after = await ask(client, runtime, GROUNDED, GROUNDED, "Wagyu please")  # 2 clean answers
    for message_id in before:
        await place(session, message_id, reviewed - timedelta(days=2))
    await place(session, too_old, reviewed - timedelta(days=20))
    await place(session, after, reviewed + timedelta(hours=1))
    lessons = [
        Lesson(
            tenant="demo",
            agent="menu",
            status="approved",
            instruction="Wagyu is not on the menu.",
            match_terms=["Wagyu", "serve"],
            reviewed_at=reviewed,
        ),
        Lesson(
            tenant="demo",
            agent="menu",
            status="approved",
            instruction="No lobster.",
            match_terms=["wagyu", "lobster"],
            reviewed_at=reviewed,
        ),
        Lesson(tenant="demo", agent="menu", status="proposed", instruction="Maybe."),
    ]
    session.add_all(lessons)
    await session.commit()

    response = await client.get(f"/admin/api/lessons/{lessons[0].id}/effect", headers=ADMIN_HEADERS)
    assert response.status_code == 200, response.text
    effect = response.json()
    assert effect["match_terms"] == ["Wagyu", "serve"]
    assert (effect["before"]["answers"], effect["before"]["errors"]) == (4, 3)
    assert (effect["after"]["answers"], effect["after"]["errors"]) == (2, 0)
    assert effect["before"]["rate"] == 0.75 and effect["after"]["rate"] == 0.0
    assert effect["change"] == -0.75 and effect["conclusive"] is False
    wider = await client.get(
        f"/admin/api/lessons/{lessons[0].id}/effect?days=30", headers=ADMIN_HEADERS
    )
    assert wider.json()["before"]["answers"] == 6

    lobster = await client.get(f"/admin/api/lessons/{lessons[1].id}/effect", headers=ADMIN_HEADERS)
    assert lobster.json()["before"]["errors"] == 0  # every term must be in the claim

    proposed = await client.get(f"/admin/api/lessons/{lessons[2].id}/effect", headers=ADMIN_HEADERS)
    assert proposed.status_code == 409 and "not approved" in proposed.text
    missing = await client.get("/admin/api/lessons/999999/effect", headers=ADMIN_HEADERS)
    assert missing.status_code == 404 and "999999" in missing.text
    huge = await client.get("/admin/api/lessons/99999999999999999999/effect", headers=ADMIN_HEADERS)
    assert huge.status_code == 422


async def test_lesson_effect_of_another_tenant_is_404(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lesson = Lesson(
        tenant="elsewhere", agent="menu", status="approved", instruction="No wagyu.",
        match_terms=["wagyu"], reviewed_at=datetime.now(UTC),
    )  # fmt: skip
    session.add(lesson)
    await session.commit()
    response = await client.get(f"/admin/api/lessons/{lesson.id}/effect", headers=ADMIN_HEADERS)
    assert response.status_code == 404 and f"lesson {lesson.id} not found" in response.text


@pytest.mark.parametrize(
    "path", ["/admin/api/win-rates", "/admin/api/costs", "/admin/api/consensus-histogram"]
)
@pytest.mark.parametrize("days", ["from=9999-12-30&to=9999-12-31", "from=9999-12-31&to=9999-12-31"])
async def test_the_calendars_last_day_is_a_422_not_a_500(
    client: httpx.AsyncClient, path: str, days: str
) -> None:
    response = await client.get(f"{path}?{days}", headers=ADMIN_HEADERS)
    assert response.status_code == 422, response.text
    assert "9999-12-31" in response.text


async def test_lesson_effects_lists_every_approved_lesson_with_its_measure(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    reviewed = datetime.now(UTC) - timedelta(days=1)
    # 1 wagyu claim (the student's); escalated, because the teacher finds no answer in the
    # knowledge base (a grounded teacher beside it would be sent without staff)
    turn = await ask(client, runtime, NOT_IN_KNOWLEDGE, HALLUCINATED)
    await place(session, turn, reviewed - timedelta(days=2))
    claims, escalations, proposed = (
        Lesson(
            tenant="demo", agent="menu", status="approved", title="no wagyu",
            instruction="Wagyu is not on the menu.", error_kind="unsupported",
            match_terms=["wagyu"], reviewed_at=reviewed - timedelta(hours=1),
        ),
        Lesson(
            tenant="demo", agent="menu", status="approved", title="wagyu questions",
            instruction="Say wagyu is not served.", error_kind="escalation",
            match_terms=["wagyu"], reviewed_at=reviewed,
        ),
        Lesson(tenant="demo", agent="menu", status="proposed", instruction="Maybe."),
    )  # fmt: skip
    session.add_all([claims, escalations, proposed])
    await session.commit()

    response = await client.get("/admin/api/lessons/effects", headers=ADMIN_HEADERS)
    assert response.status_code == 200, response.text  # not taken for /lessons/{lesson_id}
    listed = response.json()
    assert [e["lesson_id"] for e in listed] == [escalations.id, claims.id]  # newest approval first
    by_kind = {e["error_kind"]: e for e in listed}
    assert by_kind["unsupported"]["measure"] == "unsupported_claims"
    assert (
        by_kind["unsupported"]["before"]["answers"],
        by_kind["unsupported"]["before"]["errors"],
    ) == (2, 1)
    assert by_kind["escalation"]["measure"] == "escalations"
    assert (
        by_kind["escalation"]["before"]["answers"],
        by_kind["escalation"]["before"]["errors"],
    ) == (1, 1)
    assert by_kind["escalation"]["after"] | {"start": None, "end": None} == {
        "start": None,
        "end": None,
        "answers": 0,
        "errors": 0,
        "rate": None,
    }
    assert by_kind["escalation"]["title"] == "wagyu questions"
    assert "handed to staff" in by_kind["escalation"]["measure_text"]
    assert all(e["conclusive"] is False for e in listed)
    shorter = await client.get("/admin/api/lessons/effects?days=1", headers=ADMIN_HEADERS)
    assert [e["before"]["answers"] for e in shorter.json()] == [0, 0]
    bad = await client.get("/admin/api/lessons/effects?days=0", headers=ADMIN_HEADERS)
    assert bad.status_code == 422 and "days" in bad.text
