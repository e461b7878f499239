"""Staff console pages: queue, case evidence, claim (and its conflict), reply."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import STAFF_HEADERS
from tests.console.helpers import SignedIn, escalated_turn, texts
from triad.db.models import CriticEvaluation, Escalation, TrainingSignal
from triad.runtime import Runtime

SignIn = Callable[[str, str], Awaitable[SignedIn]]


async def _case_id(session: AsyncSession) -> int:
    escalation = await session.scalar(select(Escalation))
    assert escalation is not None
    return int(escalation.id)


async def test_anonymous_visitor_is_sent_to_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/staff/escalations")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


async def test_queue_lists_open_cases_and_filters_by_agent(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    await escalated_turn(client, runtime)
    case = await _case_id(session)
    page = await client.get("/staff/escalations", headers=STAFF_HEADERS)
    assert page.status_code == 200
    assert f'href="/staff/escalations/{case}"' in page.text
    other = await client.get("/staff/escalations?agent=booking", headers=STAFF_HEADERS)
    assert f'href="/staff/escalations/{case}"' not in other.text
    assert "No open escalations for booking" in texts(other.text)
    resolved = await client.get("/staff/escalations?status=resolved", headers=STAFF_HEADERS)
    assert f'href="/staff/escalations/{case}"' not in resolved.text


async def test_case_shows_both_answers_verdicts_consensus_and_passages(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    await escalated_turn(client, runtime)
    case = await _case_id(session)
    evaluation = await session.scalar(select(CriticEvaluation))
    assert evaluation is not None
    page = await client.get(f"/staff/escalations/{case}", headers=STAFF_HEADERS)
    assert page.status_code == 200
    text = texts(page.text)
    assert "Do you serve wagyu beef?" in text
    assert "chicken, shrimp, NY strip steak" in text
    assert "$20 extra per plate" in text
    assert f"{evaluation.consensus:.2f}" in text
    statuses = {c["status"] for c in evaluation.claims}
    assert "supported" in statuses and statuses & {"unsupported", "contradicted"}
    for status in statuses:
        assert f'class="claim {status}"' in page.text
    assert 'class="card passage"' in page.text
    assert "Not on the menu" in text or "wagyu" in text.lower()


async def test_second_staff_member_cannot_claim_a_claimed_case(
    client: httpx.AsyncClient,
    runtime: Runtime,
    session: AsyncSession,
    demo: None,
    signed_in: SignIn,
) -> None:
    await escalated_turn(client, runtime)
    case = await _case_id(session)
    ana = await signed_in("ana@example.com", "staff")
    ben = await signed_in("ben@example.com", "staff")

    first = await ana.client.post(f"/staff/escalations/{case}/claim", data={"csrf_token": ana.csrf})
    assert first.status_code == 303
    assert first.headers["location"] == f"/staff/escalations/{case}?done=claimed"
    second = await ben.client.post(
        f"/staff/escalations/{case}/claim", data={"csrf_token": ben.csrf}
    )
    assert second.status_code == 409
    assert "already claimed by someone else" in second.text
    assert second.headers["content-type"].startswith("text/html")
    reply = await ben.client.post(
        f"/staff/escalations/{case}/reply", data={"csrf_token": ben.csrf, "text": "Hi"}
    )
    assert reply.status_code == 409
    row = await session.get(Escalation, case)
    assert row is not None and row.status == "claimed" and row.claimed_by == ana.user_id


async def test_form_without_csrf_token_is_refused(
    client: httpx.AsyncClient,
    runtime: Runtime,
    session: AsyncSession,
    demo: None,
    signed_in: SignIn,
) -> None:
    await escalated_turn(client, runtime)
    case = await _case_id(session)
    ana = await signed_in("ana@example.com", "staff")
    refused = await ana.client.post(f"/staff/escalations/{case}/claim", data={})
    assert refused.status_code == 403
    row = await session.get(Escalation, case)
    assert row is not None and row.status == "open"


async def test_reply_reaches_customer_resolves_and_becomes_gold(
    client: httpx.AsyncClient,
    runtime: Runtime,
    session: AsyncSession,
    demo: None,
    signed_in: SignIn,
) -> None:
    sid, auth = await escalated_turn(client, runtime)
    case = await _case_id(session)
    ana = await signed_in("ana@example.com", "staff")
    await ana.client.post(f"/staff/escalations/{case}/claim", data={"csrf_token": ana.csrf})
    answer = "We don't serve wagyu; our steak is NY strip."
    sent = await ana.client.post(
        f"/staff/escalations/{case}/reply", data={"csrf_token": ana.csrf, "text": answer}
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/staff/escalations/{case}?done=replied"

    messages = (await client.get(f"/chat/sessions/{sid}", headers=auth)).json()["messages"]
    assert messages[-1]["role"] == "staff" and messages[-1]["content"] == answer
    await session.commit()
    row = await session.get(Escalation, case)
    assert row is not None and row.status == "resolved"
    signal = await session.scalar(select(TrainingSignal))
    assert signal is not None and signal.gold_answer == answer
    shown = await ana.client.get(sent.headers["location"])
    assert "Your reply was sent" in shown.text and answer in texts(shown.text)


async def test_blank_reply_is_a_readable_error(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    await escalated_turn(client, runtime)
    case = await _case_id(session)
    blank = await client.post(
        f"/staff/escalations/{case}/reply", data={"text": "  "}, headers=STAFF_HEADERS
    )
    assert blank.status_code == 422
    assert "must not be blank" in blank.text
    missing = await client.get("/staff/escalations/999999", headers=STAFF_HEADERS)
    assert missing.status_code == 404 and "not found" in missing.text


async def test_chat_page_is_plain_html_with_live_region(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert 'aria-live="polite"' in page.text
    assert "/chat/sessions" in page.text and "sessionStorage" in page.text
    assert '<label for="question"' in page.text
