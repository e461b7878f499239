"""The booking agent records a request checked against the rules and explains what fails."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.helpers import GROUNDED, open_session, script_roles
from triad.db.models import BookingRequest, TrainingSignal
from triad.runtime import Runtime


def _day(offset: int) -> str:
    return (date.today() + timedelta(days=offset)).isoformat()


async def test_complete_valid_booking_is_pending_staff(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    script_roles(runtime, GROUNDED, GROUNDED)
    sid, auth = await open_session(client)
    text = (
        f"I'd like to book for {_day(14)} at 6pm, 12 adults and 2 children, "
        "at 415 Oak Street, Folsom. Chicken and shrimp please."
    )
    turn = await client.post(
        f"/chat/sessions/{sid}/messages", json={"content": text, "agent": "booking"}, headers=auth
    )
    assert turn.status_code == 200, turn.text
    request = await session.scalar(select(BookingRequest))
    assert request is not None
    assert request.status == "pending_staff", request.violations
    assert (request.adults, request.children, request.city) == (12, 2, "Folsom")
    assert request.event_date == date.today() + timedelta(days=14)
    assert request.start_time is not None and request.start_time.hour == 18
    assert len(request.proteins) == 2


async def test_too_soon_booking_is_invalid_and_explained(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    script_roles(runtime, GROUNDED, GROUNDED)
    sid, auth = await open_session(client)
    text = f"Book us for {_day(1)} at 6pm, 10 adults, 1 Elm Street, Davis, chicken and salmon."
    turn = await client.post(
        f"/chat/sessions/{sid}/messages", json={"content": text, "agent": "booking"}, headers=auth
    )
    body = turn.json()
    assert "48 hours" in body["reply"]
    request = await session.scalar(select(BookingRequest))
    assert request is not None and request.status == "invalid"
    assert any(v["rule"] == "lead_time" for v in request.violations), request.violations
    signal = await session.scalar(select(TrainingSignal))
    assert signal is not None and signal.agent == "booking"


async def test_details_accumulate_over_turns(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    script_roles(runtime, GROUNDED, GROUNDED)
    sid, auth = await open_session(client)
    first = await client.post(
        f"/chat/sessions/{sid}/messages",
        json={"content": f"Can we book {_day(20)} for 8 adults?", "agent": "booking"},
        headers=auth,
    )
    assert "still need" in first.json()["reply"]
    request = await session.scalar(select(BookingRequest))
    assert request is not None and request.status == "needs_info"
    missing = {f for v in request.violations for f in v["fields"]}
    assert {"start_time", "address", "children", "proteins"} <= missing
    await client.post(
        f"/chat/sessions/{sid}/messages",
        json={
            "content": "7pm, no kids, 9 Pine Street, Roseville, tofu and steak",
            "agent": "booking",
        },
        headers=auth,
    )
    await session.refresh(request)
    assert request.adults == 8 and request.city == "Roseville"
    assert request.status == "pending_staff", request.violations
