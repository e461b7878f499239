"""Staff console pages: queue order and filters, case evidence, claim (and its conflict), reply,
local times."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import STAFF_EMAIL, STAFF_HEADERS
from tests.api.helpers import open_session
from tests.console.helpers import SignedIn, escalated_turn, texts
from triad.db.models import CriticEvaluation, Escalation, TrainingSignal, User
from triad.routing.budget import BudgetConfig
from triad.runtime import Runtime
from triad.settings import Settings

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
    assert "/chat/sessions" in page.text and "localStorage" in page.text
    assert '<label for="question"' in page.text


async def _escalation(
    session: AsyncSession, conversation_id: str, reason: str, created_at: datetime, **fields: Any
) -> int:
    row = Escalation(
        conversation_id=uuid.UUID(conversation_id),
        reason=reason,
        agent="menu",
        created_at=created_at,
        **fields,
    )
    session.add(row)
    await session.flush()
    return int(row.id)


def _queue_order(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-escalation="(\d+)"', page)]


async def test_queue_is_newest_first_and_filters_by_status(
    client: httpx.AsyncClient,
    staff_client: httpx.AsyncClient,
    session: AsyncSession,
) -> None:
    sid, _ = await open_session(client)
    staff = await session.scalar(select(User).where(User.email == STAFF_EMAIL))
    assert staff is not None
    # Inserted out of date order, so ids alone would give the wrong order.
    newer_open = await _escalation(session, sid, "newer open", datetime(2024, 3, 2, 10, tzinfo=UTC))
    resolved = await _escalation(
        session,
        sid,
        "resolved",
        datetime(2024, 3, 3, 9, tzinfo=UTC),
        status="resolved",
        resolved_at=datetime(2024, 3, 3, 11, tzinfo=UTC),
    )
    older_open = await _escalation(session, sid, "older open", datetime(2024, 3, 1, 8, tzinfo=UTC))
    claimed = await _escalation(
        session,
        sid,
        "claimed",
        datetime(2024, 3, 1, 12, tzinfo=UTC),
        status="claimed",
        claimed_by=staff.id,
        claimed_at=datetime(2024, 3, 1, 13, tzinfo=UTC),
    )
    await session.commit()

    default = await staff_client.get("/staff/escalations")
    assert default.status_code == 200
    assert _queue_order(default.text) == [newer_open, older_open]
    opened = await staff_client.get("/staff/escalations?status=open")
    assert _queue_order(opened.text) == [newer_open, older_open]

    claimed_page = await staff_client.get("/staff/escalations?status=claimed")
    assert _queue_order(claimed_page.text) == [claimed]
    assert "Test staff" in texts(claimed_page.text)  # who holds it
    assert '<option value="claimed" selected>' in claimed_page.text

    resolved_page = await staff_client.get("/staff/escalations?status=resolved")
    assert _queue_order(resolved_page.text) == [resolved]

    everything = await staff_client.get("/staff/escalations?status=all")
    assert _queue_order(everything.text) == [resolved, newer_open, claimed, older_open]

    bogus = await staff_client.get("/staff/escalations?status=closed")
    assert bogus.status_code == 422


async def test_queue_and_case_show_times_in_the_business_time_zone(
    client: httpx.AsyncClient,
    staff_client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
) -> None:
    zone = BudgetConfig.from_yaml(settings.budgets_config).timezone
    assert zone == "America/Los_Angeles"  # config/budgets.yaml: UTC would prove nothing
    sid, _ = await open_session(client)
    winter = await _escalation(session, sid, "winter", datetime(2024, 1, 15, 20, 30, tzinfo=UTC))
    await _escalation(session, sid, "summer", datetime(2024, 7, 4, 18, 5, tzinfo=UTC))
    await session.commit()

    queue = texts((await staff_client.get("/staff/escalations")).text)
    assert "2024-01-15 12:30 PST" in queue
    assert "2024-07-04 11:05 PDT" in queue
    assert "20:30" not in queue and "18:05" not in queue
    case = await staff_client.get(f"/staff/escalations/{winter}")
    assert "opened 2024-01-15 12:30 PST" in texts(case.text)
    assert '<time datetime="2024-01-15T20:30:00+00:00">' in case.text
