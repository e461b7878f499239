"""Five turns whose wins, losses, ties, hallucinations, escalations and feedback are known.

A: both grounded (equal scores: a tie), thumbs up       -> send (consensus 1.0)
B: teacher grounded, student hallucinates, thumbs down  -> send (teacher wins; the refuted
   student is a training signal, not a staff case: consensus 0.8)
C: both hallucinate (equal scores: a tie), thumbs down  -> hold_and_escalate (nobody credited;
   nothing deliverable: consensus 0)
D: teacher grounded, the student's model is down        -> send (teacher wins, student error+loss;
   a single answer: consensus 0.75)
E: both grounded but with no price in common (equal scores: a tie), thumbs up
                                                        -> send_and_escalate (the teacher's
   answer is sent and credited; deliverable answers disagreeing on a fact: consensus 0.4333)
"""

from __future__ import annotations

from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.analytics.seed import ask, place
from tests.api.helpers import FILET_UPGRADE, GROUNDED, HALLUCINATED, LOBSTER_UPGRADE
from triad.errors import ProviderUnavailableError
from triad.runtime import Runtime

DOWN = ProviderUnavailableError("scripted outage")
UPGRADE_QUESTION = "What upgrade can I get instead of wagyu?"


async def five_turns(
    client: httpx.AsyncClient,
    runtime: Runtime,
    session: AsyncSession,
    at: datetime | None = None,
) -> list[int]:
    """Seed A, B, C, D, E in that order (moved to `at` when given); their reply ids."""
    ids = [
        await ask(client, runtime, GROUNDED, GROUNDED, feedback="up"),
        await ask(
            client, runtime, GROUNDED, HALLUCINATED, "Is wagyu on the menu?", feedback="down"
        ),
        await ask(client, runtime, HALLUCINATED, HALLUCINATED, "Can I get wagyu?", feedback="down"),
        await ask(client, runtime, GROUNDED, DOWN, "Do you have wagyu steak?"),
        await ask(client, runtime, FILET_UPGRADE, LOBSTER_UPGRADE, UPGRADE_QUESTION, feedback="up"),
    ]
    if at is not None:
        for message_id in ids:
            await place(session, message_id, at)
    return ids
