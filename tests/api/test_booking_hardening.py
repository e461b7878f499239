"""Booking rules on the tenant's clock, not the server's; a double submit updates the one
booking request instead of failing on its unique conversation."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.helpers import GROUNDED, open_session, script_roles
from triad.agents.booking import local_now
from triad.conversations.booking import track_booking
from triad.conversations.service import create_conversation
from triad.db.models import BookingRequest, Conversation
from triad.runtime import Runtime

# 03:00 UTC on Wednesday 10 June 2026 is 20:00 on Tuesday 9 June in Sacramento (PDT, UTC-7).
LATE_EVENING_IN_CALIFORNIA = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)


async def _conversation(session: AsyncSession) -> Conversation:
    conversation, _ = await create_conversation(
        session, tenant="demo", agent="booking", customer_ref=None
    )
    return conversation


def test_the_demo_tenant_keeps_californian_time(runtime: Runtime) -> None:
    now = local_now(runtime.rules, LATE_EVENING_IN_CALIFORNIA)
    assert (now.date(), now.hour) == (date(2026, 6, 9), 20)


async def test_tomorrow_is_the_tenants_tomorrow_on_a_utc_server(
    runtime: Runtime, session: AsyncSession
) -> None:
    conversation = await _conversation(session)
    check = await track_booking(
        session,
        conversation=conversation,
        customer_texts=["Can we book tomorrow at 6pm for 10 adults?"],
        rules=runtime.rules,
        now=LATE_EVENING_IN_CALIFORNIA,
    )
    assert check.request is not None
    assert check.request.event_date == date(2026, 6, 10)  # the server's date is already the 10th


async def test_the_48_hour_rule_counts_from_the_tenants_clock(
    runtime: Runtime, session: AsyncSession
) -> None:
    """Thursday 11 June 20:00 local is 48 hours after Tuesday 20:00 local: allowed. On the
    server's UTC clock read as local time (Wednesday 03:00) it would be 41 hours: refused."""
    conversation = await _conversation(session)
    check = await track_booking(
        session,
        conversation=conversation,
        customer_texts=["Book June 11 at 8pm, 10 adults, 415 Oak Street, Folsom, chicken."],
        rules=runtime.rules,
        now=LATE_EVENING_IN_CALIFORNIA,
    )
    assert not [v for v in check.violations if v.rule == "lead_time"], check.violations


async def test_the_lead_time_is_elapsed_hours_across_a_clock_change(
    runtime: Runtime, session: AsyncSession
) -> None:
    """Clocks go back on Sunday 1 November 2026: from Saturday 12:00 PDT, 48 hours later is
    Monday 11:00 PST, so an 11:30 start is 48.5 hours away (wall-clock sums said 47.5)."""
    conversation = await _conversation(session)
    check = await track_booking(
        session,
        conversation=conversation,
        customer_texts=["Book November 2 at 11:30am, 10 adults, 415 Oak Street, Folsom."],
        rules=runtime.rules,
        now=datetime(2026, 10, 31, 19, 0, tzinfo=UTC),
    )
    assert check.request is not None and check.request.event_date == date(2026, 11, 2)
    assert not [v for v in check.violations if v.rule == "lead_time"], check.violations
    too_soon = await track_booking(
        session,
        conversation=conversation,
        customer_texts=["Book November 2 at 11am, 10 adults, 415 Oak Street, Folsom."],
        rules=runtime.rules,
        now=datetime(2026, 10, 31, 19, 1, tzinfo=UTC),
    )
    assert [v.rule for v in too_soon.violations if v.severity == "blocking"] == ["lead_time"]


async def test_a_double_submit_updates_the_one_request(
    runtime: Runtime, session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """Two turns of one conversation at once: the second waits for the first's row and
    updates it (before, it inserted a second row and hit the unique constraint: a 500)."""
    conversation = await _conversation(session)
    texts = ["Can we book June 20 for 10 adults?"]
    now = LATE_EVENING_IN_CALIFORNIA
    async with session_factory() as first, session_factory() as second:
        await track_booking(
            first, conversation=conversation, customer_texts=texts, rules=runtime.rules, now=now
        )
        racing = asyncio.create_task(
            track_booking(
                second,
                conversation=conversation,
                customer_texts=[*texts, "Make it 12 adults."],
                rules=runtime.rules,
                now=now,
            )
        )
        await asyncio.sleep(0.3)  # the second insert now waits on the first's unique key
        await first.commit()
        check = await racing
        await second.commit()
    assert check.request is not None and check.request.adults == 12
    rows = (await session.scalars(select(BookingRequest))).all()
    assert [(r.conversation_id, r.adults) for r in rows] == [(conversation.id, 12)]


async def test_two_booking_messages_at_once_through_the_api(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    script_roles(runtime, GROUNDED, GROUNDED)
    sid, auth = await open_session(client)
    text = "Can we book June 20 at 6pm for 10 adults?"
    turns = await asyncio.gather(
        *(
            client.post(
                f"/chat/sessions/{sid}/messages",
                json={"content": text, "agent": "booking"},
                headers=auth,
            )
            for _ in range(2)
        )
    )
    assert [t.status_code for t in turns] == [200, 200], [t.text for t in turns]
    rows = (await session.scalars(select(BookingRequest))).all()
    assert len(rows) == 1 and rows[0].adults == 10
