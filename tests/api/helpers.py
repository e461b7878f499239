"""Small helpers shared by the API tests: scripted roles, sessions, row counts."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.scripted import ScriptedProvider
from triad.db.models import Base
from triad.runtime import Runtime

GROUNDED = (
    "We do not serve wagyu beef. You can choose chicken, shrimp, NY strip steak, salmon or tofu."
)
HALLUCINATED = "Yes, we serve wagyu beef for $20 extra per plate."
"""Against GROUNDED this is a refuted second answer: the turn is sent (a training signal, not a
staff case). Against itself nothing is deliverable: a holding reply, and staff are asked."""
HALF_TRUE = (
    "You can choose chicken, shrimp, NY strip steak, salmon or tofu. "
    "Wagyu beef is a premium upgrade."
)
"""One supported claim and one made up: not deliverable, so with HALLUCINATED beside it the
customer gets the holding reply and staff see both answers (hold_and_escalate)."""
NOT_IN_KNOWLEDGE = "I don't have that information in the knowledge base."
"""An honest abstention: sent to the customer, and staff follow up (send_and_escalate)."""
FILET_UPGRADE = "We do not serve wagyu beef. Filet mignon is a +$5 upgrade per plate."
LOBSTER_UPGRADE = "We do not serve wagyu beef. Lobster tail is a +$15 upgrade per plate."
"""Two deliverable answers that state no price in common: they disagree on a fact, so the
winner is sent and staff settle it (send_and_escalate, consensus below the threshold)."""


def script_roles(runtime: Runtime, teacher: str, student: str) -> None:
    """Replace the active profile's teacher and student with scripted models."""
    profile = runtime.config.active(runtime.settings.ensemble_profile)
    runtime.use_provider(profile.teacher.model, ScriptedProvider(teacher))
    runtime.use_provider(profile.student.model, ScriptedProvider(student))


async def open_session(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    """A new chat session and the header that opens it."""
    created = await client.post("/chat/sessions", json={})
    assert created.status_code == 201
    body = created.json()
    return body["session_id"], {"X-Session-Token": body["token"]}


async def new_turn(client: httpx.AsyncClient, question: str) -> dict[str, Any]:
    """One customer turn in a new chat session: the response body."""
    session_id, headers = await open_session(client)
    reply = await client.post(
        f"/chat/sessions/{session_id}/messages", json={"content": question}, headers=headers
    )
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


async def count_rows(session: AsyncSession, model: type[Base]) -> int:
    return (await session.scalar(select(func.count()).select_from(model))) or 0
