"""Four turns whose wins, losses, ties, hallucinations, escalations and feedback are known.

A: both grounded (equal scores: a tie), thumbs up      -> send
B: teacher grounded, student hallucinates, thumbs down -> send_and_escalate (teacher wins)
C: both hallucinate (equal scores: a tie), thumbs down -> hold_and_escalate (nobody credited)
D: teacher grounded, the student's model is down       -> send (teacher wins, student error+loss)
"""

from __future__ import annotations

from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.analytics.seed import ask, place
from tests.api.helpers import GROUNDED, HALLUCINATED
from triad.errors import ProviderUnavailableError
from triad.runtime import Runtime

DOWN = ProviderUnavailableError("scripted outage")


async def four_turns(
    client: httpx.AsyncClient,
    runtime: Runtime,
    session: AsyncSession,
    at: datetime | None = None,
) -> list[int]:
    """Seed A, B, C, D (moved to `at` when given); their reply ids."""
    ids = [
        await ask(client, runtime, GROUNDED, GROUNDED, feedback="up"),
        await ask(
            client, runtime, GROUNDED, HALLUCINATED, "Is wagyu on the menu?", feedback="down"
        ),
        await ask(client, runtime, HALLUCINATED, HALLUCINATED, "Can I get wagyu?", feedback="down"),
        await ask(client, runtime, GROUNDED, DOWN, "Do you have wagyu steak?"),
    ]
    if at is not None:
        for message_id in ids:
            await place(session, message_id, at)
    return ids
