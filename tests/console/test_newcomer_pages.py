"""Rough edges a newcomer met in the console: the queue shows the question, a zero-cost
range says so, a staff case shows its trace."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import ADMIN_HEADERS, STAFF_HEADERS
from tests.api.helpers import HALLUCINATED, open_session, script_roles
from tests.console.helpers import texts
from triad.db.models import Escalation, ProviderCall
from triad.runtime import Runtime

QUESTION = "Do you serve wagyu beef for a party of 20?"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


async def _escalate(client: httpx.AsyncClient, runtime: Runtime) -> int:
    """Both answers made up: nothing deliverable, so the turn goes to staff."""
    script_roles(runtime, HALLUCINATED, HALLUCINATED)
    sid, auth = await open_session(client)
    turn = await client.post(
        f"/chat/sessions/{sid}/messages", json={"content": QUESTION}, headers=auth
    )
    assert turn.status_code == 200 and turn.json()["status"] == "pending_staff", turn.text
    return int(turn.json()["message_id"])


async def test_queue_shows_the_customer_question(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    await _escalate(client, runtime)
    page = await client.get("/staff/escalations", headers=STAFF_HEADERS)
    assert page.status_code == 200
    assert "<th>Question</th>" in page.text
    assert f'<td class="question">{QUESTION}</td>' in page.text


async def test_case_page_shows_the_trace_and_links_it_when_configured(
    app: FastAPI, client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    await _escalate(client, runtime)
    case_id = await session.scalar(select(Escalation.id))
    plain = await client.get(f"/staff/escalations/{case_id}", headers=STAFF_HEADERS)
    assert "trace-id" not in plain.text  # tracing was off for that turn: nothing to show
    await session.execute(update(Escalation).values(trace_id=TRACE))
    await session.commit()
    shown = await client.get(f"/staff/escalations/{case_id}", headers=STAFF_HEADERS)
    assert f'<code class="trace-id">{TRACE}</code>' in shown.text
    assert "open the trace" not in shown.text
    app.state.settings = app.state.settings.model_copy(
        update={"trace_url": "http://127.0.0.1:16686/trace/{trace_id}"}
    )
    linked = await client.get(f"/staff/escalations/{case_id}", headers=STAFF_HEADERS)
    assert f'href="http://127.0.0.1:16686/trace/{TRACE}"' in linked.text


async def test_costs_page_with_only_free_calls_says_so(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    await _escalate(client, runtime)
    calls = len(list(await session.scalars(select(ProviderCall))))
    assert calls > 0
    page = await client.get("/admin/costs", headers=ADMIN_HEADERS)
    text = texts(page.text)
    assert "No data yet" not in text
    assert f"{calls} calls recorded in this range, all at $0 list price" in text
