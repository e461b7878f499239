"""Admin APIs of the learning loop: feature flags, lesson review, dialogue runs."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import ADMIN_HEADERS, STAFF_HEADERS
from triad import flags
from triad.db.models import DialogueRun, FeatureFlag, Lesson

FLAG_URL = "/admin/api/flags/llm_dialogue"


async def test_flags_need_an_admin(client: httpx.AsyncClient) -> None:
    assert (await client.get("/admin/api/flags")).status_code == 401
    assert (await client.get("/admin/api/flags", headers=STAFF_HEADERS)).status_code == 403
    put = await client.put(FLAG_URL, json={"enabled": True}, headers=STAFF_HEADERS)
    assert put.status_code == 403


async def test_flag_is_off_by_default_and_toggles(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    listed = (await client.get("/admin/api/flags", headers=ADMIN_HEADERS)).json()
    assert listed == [
        {
            "key": "llm_dialogue",
            "enabled": False,
            "value": {"activation_threshold": 1000},
            "description": flags.KNOWN["llm_dialogue"].description,
        }
    ]
    put = await client.put(
        FLAG_URL,
        json={"enabled": True, "value": {"activation_threshold": 3}},
        headers=ADMIN_HEADERS,
    )
    assert put.status_code == 200, put.text
    assert put.json()["enabled"] is True
    again = await client.put(FLAG_URL, json={"enabled": False}, headers=ADMIN_HEADERS)
    assert again.json()["value"] == {"activation_threshold": 3}
    row = await session.get(FeatureFlag, "llm_dialogue")
    assert row is not None and (row.enabled, row.value) == (False, {"activation_threshold": 3})
    state = await flags.get_flag(session, "llm_dialogue", fresh=True)
    assert (state.enabled, state.value["activation_threshold"]) == (False, 3)


async def test_unknown_flag_is_404_and_bad_value_422(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    unknown = await client.put(
        "/admin/api/flags/no_such_flag", json={"enabled": True}, headers=ADMIN_HEADERS
    )
    assert unknown.status_code == 404
    assert "unknown feature flag 'no_such_flag'" in unknown.text
    for value in (
        {"activation_threshold": -1},
        {"activation_threshold": "many"},
        {"activation_threshold": True},
        {"activation_threshold": 2.0},
        {"activation_threshold": "5"},
        {"x": 1},
    ):
        bad = await client.put(
            FLAG_URL, json={"enabled": True, "value": value}, headers=ADMIN_HEADERS
        )
        assert bad.status_code == 422, value
        assert "llm_dialogue" in bad.text
    assert (await session.scalar(select(FeatureFlag))) is None


async def test_flag_reads_are_cached_for_the_ttl(
    monkeypatch: pytest.MonkeyPatch, session: AsyncSession
) -> None:
    now = [1000.0]
    monkeypatch.setattr(flags, "cache", flags.FlagCache(ttl=5.0, clock=lambda: now[0]))
    await flags.set_flag(session, "llm_dialogue", enabled=True)
    await session.execute(update(FeatureFlag).values(enabled=False))
    await session.commit()
    now[0] += 4.9
    assert (await flags.get_flag(session, "llm_dialogue")).enabled is True
    now[0] += 0.2
    assert (await flags.get_flag(session, "llm_dialogue")).enabled is False


async def _lesson(session: AsyncSession, status: str = "proposed") -> int:
    lesson = Lesson(
        tenant="demo",
        agent="menu",
        status=status,
        title="menu: never offer wagyu",
        instruction="Never offer wagyu beef: the menu lists chicken, shrimp, NY strip, salmon.",
        evidence_signal_ids=[7, 9],
        match_terms=["wagyu", "beef"],
    )
    session.add(lesson)
    await session.commit()
    return lesson.id


async def test_lessons_api_lists_and_transitions(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    first = await _lesson(session)
    second = await _lesson(session)
    assert (await client.get("/admin/api/lessons", headers=STAFF_HEADERS)).status_code == 403
    listed = (await client.get("/admin/api/lessons", headers=ADMIN_HEADERS)).json()
    assert [entry["id"] for entry in listed] == [second, first]
    assert listed[0]["evidence_signal_ids"] == [7, 9]

    url = f"/admin/api/lessons/{first}"
    edited = await client.patch(
        url, json={"instruction": "Never offer wagyu.", "title": "wagyu"}, headers=ADMIN_HEADERS
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["instruction"] == "Never offer wagyu."
    assert body["original_instruction"].startswith("Never offer wagyu beef")
    twice = await client.patch(url, json={"instruction": "No wagyu."}, headers=ADMIN_HEADERS)
    assert twice.json()["original_instruction"].startswith("Never offer wagyu beef")

    approved = await client.post(f"{url}/approve", headers=ADMIN_HEADERS)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert approved.json()["reviewed_at"] is not None
    assert (await client.post(f"{url}/approve", headers=ADMIN_HEADERS)).status_code == 409

    rejected = await client.post(
        f"/admin/api/lessons/{second}/reject", json={"note": "too broad"}, headers=ADMIN_HEADERS
    )
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["review_note"]) == ("rejected", "too broad")
    conflict = await client.post(f"/admin/api/lessons/{second}/approve", headers=ADMIN_HEADERS)
    assert conflict.status_code == 409
    assert "rejected" in conflict.text
    assert (await client.patch(
        f"/admin/api/lessons/{second}", json={"title": "x"}, headers=ADMIN_HEADERS
    )).status_code == 409  # fmt: skip

    by_status = await client.get("/admin/api/lessons?status=approved", headers=ADMIN_HEADERS)
    assert [e["id"] for e in by_status.json()] == [first]
    one = await client.get(f"/admin/api/lessons/{second}", headers=ADMIN_HEADERS)
    assert one.json()["status"] == "rejected"


async def test_lessons_api_refuses_unknown_and_bad_input(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    assert (await client.get("/admin/api/lessons/999", headers=ADMIN_HEADERS)).status_code == 404
    missing = await client.post("/admin/api/lessons/999/approve", headers=ADMIN_HEADERS)
    assert missing.status_code == 404
    bad = await client.get("/admin/api/lessons?status=maybe", headers=ADMIN_HEADERS)
    assert bad.status_code == 422
    lesson = await _lesson(session)
    blank = await client.patch(
        f"/admin/api/lessons/{lesson}", json={"instruction": "  "}, headers=ADMIN_HEADERS
    )
    assert blank.status_code == 422
    empty = await client.patch(f"/admin/api/lessons/{lesson}", json={}, headers=ADMIN_HEADERS)
    assert empty.status_code == 422
    for body in ({"title": ""}, {"title": " \t "}, {"instruction": ""}):
        blank_field = await client.patch(
            f"/admin/api/lessons/{lesson}", json=body, headers=ADMIN_HEADERS
        )
        assert blank_field.status_code == 422, body
    huge = "99999999999999999999"
    for method, path in (
        ("GET", huge),
        ("GET", "0"),
        ("POST", f"{huge}/approve"),
        ("POST", f"{huge}/reject"),
        ("PATCH", huge),
    ):
        response = await client.request(
            method, f"/admin/api/lessons/{path}", json={"title": "x"}, headers=ADMIN_HEADERS
        )
        assert response.status_code == 422, (method, path, response.text)
    row = await session.get(Lesson, lesson, populate_existing=True)
    assert row is not None and row.original_instruction is None


async def test_runs_api_starts_a_run_and_lists_it(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    started = await client.post(
        "/admin/api/dialogue/runs", json={"date": "2026-03-01"}, headers=ADMIN_HEADERS
    )
    assert started.status_code == 200, started.text
    body = started.json()
    assert body["outcome"] == "skipped"
    assert body["run"]["reason"] == "feature flag llm_dialogue is off"
    again = await client.post(
        "/admin/api/dialogue/runs", json={"date": "2026-03-01"}, headers=ADMIN_HEADERS
    )
    assert again.json()["outcome"] == "skipped" and again.json()["attempts"] == 2
    runs = (await client.get("/admin/api/dialogue/runs", headers=ADMIN_HEADERS)).json()
    assert [(r["run_date"], r["status"], r["trigger"]) for r in runs] == [
        ("2026-03-01", "skipped", "manual")
    ]
    future = await client.post(
        "/admin/api/dialogue/runs", json={"date": "2999-01-01"}, headers=ADMIN_HEADERS
    )
    assert future.status_code == 422 and "in the future" in future.text
    staff = await client.post("/admin/api/dialogue/runs", json={}, headers=STAFF_HEADERS)
    assert staff.status_code == 403
    assert len(list(await session.scalars(select(DialogueRun)))) == 1


async def test_runs_api_refuses_today_since_it_is_not_over(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    today = datetime.now(app.state.dialogue.config.zone).date()
    response = await client.post(
        "/admin/api/dialogue/runs", json={"date": today.isoformat()}, headers=ADMIN_HEADERS
    )
    assert response.status_code == 422
    assert f"date {today} is today" in response.text and "not over" in response.text
    tomorrow = today + timedelta(days=1)
    later = await client.post(
        "/admin/api/dialogue/runs", json={"date": tomorrow.isoformat()}, headers=ADMIN_HEADERS
    )
    assert later.status_code == 422 and f"date {tomorrow} is in the future" in later.text
    assert await session.scalar(select(DialogueRun)) is None
