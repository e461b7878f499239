"""Admin console pages: dashboard charts, lessons review, costs, provider health, flags."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.analytics.seed import ask, place
from tests.api.conftest import ADMIN_HEADERS, STAFF_HEADERS
from tests.api.helpers import GROUNDED, HALLUCINATED
from tests.console.helpers import escalated_turn, texts
from triad import flags
from triad.analytics import effects
from triad.db.models import Lesson, ProviderCall, TrainingSignal
from triad.routing.budget import BudgetConfig
from triad.routing.costs import GROUP_FIELDS, cost_report
from triad.runtime import Runtime
from triad.settings import Settings

ADMIN_PAGES = ("/admin", "/admin/lessons", "/admin/costs", "/admin/providers", "/admin/flags")


async def _lesson(session: AsyncSession, **fields: object) -> Lesson:
    signal = await session.scalar(select(TrainingSignal))
    lesson = Lesson(
        tenant="demo",
        agent="menu",
        status="proposed",
        title="Wagyu is not served",
        instruction="Never offer wagyu; the steak option is NY strip.",
        wrong_claim="we serve wagyu beef for $20 extra per plate",
        evidence_signal_ids=[signal.id] if signal is not None else [],
        **fields,
    )
    session.add(lesson)
    await session.commit()
    return lesson


async def test_admin_pages_need_the_admin_role(client: httpx.AsyncClient) -> None:
    for path in ADMIN_PAGES:
        anonymous = await client.get(path)
        assert anonymous.status_code == 303, path
        assert anonymous.headers["location"].startswith("/login"), path
        staff = await client.get(path, headers=STAFF_HEADERS)
        assert staff.status_code == 403, path


async def test_empty_dashboard_says_no_data_instead_of_a_chart(client: httpx.AsyncClient) -> None:
    page = await client.get("/admin", headers=ADMIN_HEADERS)
    assert page.status_code == 200
    assert "<svg" not in page.text
    assert texts(page.text).count("No data yet") == 4


async def test_dashboard_draws_charts_with_table_fallbacks(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    await escalated_turn(client, runtime)
    page = await client.get("/admin", headers=ADMIN_HEADERS)
    assert page.status_code == 200
    assert page.text.count("<svg") == 3
    assert 'aria-label="Win rate per provider, role and agent"' in page.text
    assert 'aria-label="Consensus score distribution"' in page.text
    assert "<script" not in page.text  # pygal's inline config script is stripped (strict CSP)
    for svg in re.findall(r"<svg .*?</svg>", page.text, flags=re.S):
        assert 'role="img"' in svg and "<title>" in svg
    text = texts(page.text)
    assert "Win rates as a table" in text and "Distribution as a table" in text
    assert "Do you serve wagyu beef?" in text  # the recent disagreement
    assert "$20 extra per plate" in text


async def test_lessons_page_shows_evidence_and_approve_moves_it(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    await escalated_turn(client, runtime)
    lesson = await _lesson(session)
    signal = await session.scalar(select(TrainingSignal))
    assert signal is not None
    page = await client.get("/admin/lessons", headers=ADMIN_HEADERS)
    assert page.status_code == 200
    assert "Never offer wagyu" in page.text
    assert f'href="/staff/turns/{signal.message_id}"' in page.text
    turn = await client.get(f"/staff/turns/{signal.message_id}", headers=ADMIN_HEADERS)
    assert turn.status_code == 200 and "$20 extra per plate" in turn.text

    approved = await client.post(
        f"/admin/lessons/{lesson.id}/approve", data={"status": "proposed"}, headers=ADMIN_HEADERS
    )
    assert approved.status_code == 303
    assert approved.headers["location"].startswith("/admin/lessons?status=proposed&done=approved")
    await session.refresh(lesson)
    assert lesson.status == "approved"
    listed = await client.get("/admin/lessons?status=approved", headers=ADMIN_HEADERS)
    assert f'id="lesson-{lesson.id}"' in listed.text
    again = await client.post(f"/admin/lessons/{lesson.id}/approve", headers=ADMIN_HEADERS)
    assert again.status_code == 409 and "cannot be approved" in again.text


async def test_lessons_edit_and_reject(client: httpx.AsyncClient, session: AsyncSession) -> None:
    lesson = await _lesson(session)
    edited = await client.post(
        f"/admin/lessons/{lesson.id}/edit",
        data={"instruction": "Say wagyu is not on the menu.", "title": "No wagyu"},
        headers=ADMIN_HEADERS,
    )
    assert edited.status_code == 303
    blank = await client.post(
        f"/admin/lessons/{lesson.id}/edit", data={"instruction": " "}, headers=ADMIN_HEADERS
    )
    assert blank.status_code == 422 and "must not be blank" in blank.text
    rejected = await client.post(
        f"/admin/lessons/{lesson.id}/reject", data={"note": "too narrow"}, headers=ADMIN_HEADERS
    )
    assert rejected.status_code == 303
    await session.refresh(lesson)
    assert lesson.status == "rejected" and lesson.review_note == "too narrow"
    assert lesson.instruction == "Say wagyu is not on the menu."
    assert lesson.original_instruction == "Never offer wagyu; the steak option is NY strip."
    unknown = await client.post(f"/admin/lessons/{lesson.id}/archive", headers=ADMIN_HEADERS)
    assert unknown.status_code == 404
    bad = await client.get("/admin/lessons?status=weird", headers=ADMIN_HEADERS)
    assert bad.status_code == 422


async def test_approved_lessons_show_their_error_rate_before_and_after(
    client: httpx.AsyncClient,
    runtime: Runtime,
    session: AsyncSession,
    demo: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reviewed = datetime.now(UTC) - timedelta(days=1)
    wrong = await ask(client, runtime, GROUNDED, HALLUCINATED)  # 2 answers, 1 wagyu claim
    right = await ask(client, runtime, GROUNDED, GROUNDED)  # 2 clean answers
    await place(session, wrong, reviewed - timedelta(days=1))
    await place(session, right, reviewed + timedelta(hours=1))
    approved = await _lesson(session, match_terms=["wagyu"], error_kind="unsupported")
    approved.status, approved.reviewed_at = "approved", reviewed
    await session.commit()
    proposed = await _lesson(session, match_terms=["lobster"])

    page = texts((await client.get("/admin/lessons?status=all", headers=ADMIN_HEADERS)).text)
    assert "error rate before 50% (2) → after 0% (2) (too few turns to tell)" in page
    assert "answers with an unsupported claim on the lesson's terms" in page
    assert page.count("error rate before") == 1  # the proposed lesson has no effect yet
    assert f"#{proposed.id} Wagyu is not served proposed" in page

    monkeypatch.setattr(effects, "MIN_ANSWERS", 2)  # enough turns on both sides to tell
    page = texts((await client.get("/admin/lessons?status=approved", headers=ADMIN_HEADERS)).text)
    assert f"#{approved.id} Wagyu is not served" in page
    assert "error rate before 50% (2) → after 0% (2)" in page
    assert "too few turns to tell" not in page


async def test_costs_table_totals_match_cost_report(
    client: httpx.AsyncClient,
    runtime: Runtime,
    session: AsyncSession,
    settings: Settings,
    demo: None,
) -> None:
    empty = await client.get("/admin/costs", headers=ADMIN_HEADERS)
    assert "No data yet" in empty.text and "<svg" not in empty.text
    await escalated_turn(client, runtime)
    session.add_all(
        ProviderCall(
            task_type="chat.menu",
            agent=agent,
            role="teacher",
            provider=provider,
            model=model,
            input_tokens=100,
            output_tokens=20,
            cost_usd=cost,
            outcome="ok",
        )
        for provider, model, agent, cost in (
            ("openai", "gpt-4o-mini", "menu", 0.0123),
            ("anthropic", "claude-haiku", "pricing", 0.0456),
            ("openai", "gpt-4o-mini", "menu", 0.0001),
        )
    )
    await session.commit()
    budgets = BudgetConfig.from_yaml(settings.budgets_config)
    today = datetime.now(budgets.zone).date()
    rows, totals = await cost_report(
        session,
        start=today - timedelta(days=29),
        end=today,
        group_by=GROUP_FIELDS,
        timezone=budgets.timezone,
    )
    assert rows and totals.calls > 0 and round(totals.cost_usd, 4) == 0.058
    page = await client.get("/admin/costs", headers=ADMIN_HEADERS)
    assert page.status_code == 200
    assert '<svg role="img" aria-label="Cost per day by provider (USD)"' in page.text
    assert "<script" not in page.text
    assert f'<td class="num" id="total-cost">${totals.cost_usd:.4f}</td>' in page.text
    table = page.text.split('id="cost-table"', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == len(rows) + 2  # header, rows, total
    for row in rows:
        assert f"<td>{row.model}</td>" in table


async def test_providers_page_lists_models_with_circuit_state(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    page = await client.get("/admin/providers", headers=ADMIN_HEADERS)
    assert page.status_code == 200
    for model_id in runtime.registry.ids():
        assert f'data-model="{model_id}"' in page.text
    assert ">closed<" in page.text


async def test_flags_page_sets_llm_dialogue_and_threshold(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    page = await client.get("/admin/flags", headers=ADMIN_HEADERS)
    assert page.status_code == 200
    assert "llm_dialogue" in page.text and 'name="value.activation_threshold"' in page.text
    assert "No dialogue runs yet" in page.text
    saved = await client.post(
        "/admin/flags/llm_dialogue",
        data={"enabled": "on", "value.activation_threshold": "25"},
        headers=ADMIN_HEADERS,
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/admin/flags?done=flag"
    state = await flags.get_flag(session, "llm_dialogue", fresh=True)
    assert state.enabled and state.value["activation_threshold"] == 25
    bad = await client.post(
        "/admin/flags/llm_dialogue",
        data={"enabled": "on", "value.activation_threshold": "-3"},
        headers=ADMIN_HEADERS,
    )
    assert bad.status_code == 422 and "activation_threshold" in bad.text
    words = await client.post(
        "/admin/flags/llm_dialogue",
        data={"value.activation_threshold": "many"},
        headers=ADMIN_HEADERS,
    )
    assert words.status_code == 422 and "whole number" in words.text
    unknown = await client.post("/admin/flags/nope", data={}, headers=ADMIN_HEADERS)
    assert unknown.status_code == 404
    state = await flags.get_flag(session, "llm_dialogue", fresh=True)
    assert state.enabled and state.value["activation_threshold"] == 25
