"""Customer chat end to end: sessions, tokens, turns, records, feedback, staff replies."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import STAFF_TOKEN, sign_in_as
from tests.api.helpers import GROUNDED, HALLUCINATED, count_rows, open_session, script_roles
from triad.db.models import (
    Candidate,
    CriticEvaluation,
    Escalation,
    Message,
    ProviderCall,
    TrainingSignal,
)
from triad.runtime import Runtime

STAFF = {"Authorization": f"Bearer {STAFF_TOKEN}"}


async def test_a_turn_is_answered_and_recorded_once(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    script_roles(runtime, GROUNDED, GROUNDED)
    sid, auth = await open_session(client)
    turn = await client.post(
        f"/chat/sessions/{sid}/messages", json={"content": "Do you serve wagyu beef?"}, headers=auth
    )
    assert turn.status_code == 200, turn.text
    body = turn.json()
    assert body["agent"] == "menu"
    assert body["reply"] == GROUNDED
    assert body["status"] == "answered"

    assert await count_rows(session, TrainingSignal) == 1
    assert await count_rows(session, Candidate) == 2
    assert await count_rows(session, CriticEvaluation) == 1
    assert await count_rows(session, ProviderCall) == 2
    assert await count_rows(session, Escalation) == 0
    signal = await session.scalar(select(TrainingSignal))
    assert signal is not None and signal.message_id == body["message_id"]
    assert signal.knowledge_version == 1 and signal.passage_ids
    assert signal.winner in ("teacher", "student") and signal.decision == "send"

    history = (await client.get(f"/chat/sessions/{sid}", headers=auth)).json()
    assert [m["role"] for m in history["messages"]] == ["customer", "assistant"]


async def test_sessions_are_private(
    client: httpx.AsyncClient, runtime: Runtime, demo: None
) -> None:
    script_roles(runtime, GROUNDED, GROUNDED)
    sid, auth = await open_session(client)
    other_sid, other_auth = await open_session(client)
    assert (await client.get(f"/chat/sessions/{sid}")).status_code == 404
    assert (await client.get(f"/chat/sessions/{sid}", headers=other_auth)).status_code == 404
    wrong = {"X-Session-Token": "not-the-token"}
    posted = await client.post(
        f"/chat/sessions/{sid}/messages", json={"content": "hi"}, headers=wrong
    )
    assert posted.status_code == 404
    turn = await client.post(
        f"/chat/sessions/{sid}/messages", json={"content": "wagyu?"}, headers=auth
    )
    message_id = turn.json()["message_id"]
    stolen = await client.post(
        f"/chat/messages/{message_id}/feedback", json={"value": "down"}, headers=other_auth
    )
    assert stolen.status_code == 404
    mine = await client.post(
        f"/chat/messages/{message_id}/feedback", json={"value": "up"}, headers=auth
    )
    assert mine.status_code == 200 and mine.json()["feedback"] == 1
    assert other_sid != sid


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"content": ""}, "content"),
        ({"content": "   "}, "content"),
        ({"content": "x" * 2001}, "content"),
        ({"content": "hi", "agent": "astrology"}, "astrology"),
        ({"content": "hi", "surprise": 1}, "surprise"),
    ],
)
async def test_bad_messages_get_422_naming_the_field(
    client: httpx.AsyncClient, session: AsyncSession, payload: dict[str, object], field: str
) -> None:
    sid, auth = await open_session(client)
    response = await client.post(f"/chat/sessions/{sid}/messages", json=payload, headers=auth)
    assert response.status_code == 422
    assert field in response.text
    assert await count_rows(session, Message) == 0


async def test_escalation_staff_reply_reaches_the_customer(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    script_roles(runtime, HALLUCINATED, HALLUCINATED)
    sid, auth = await open_session(client)
    turn = await client.post(
        f"/chat/sessions/{sid}/messages", json={"content": "Can I get wagyu?"}, headers=auth
    )
    assert turn.json()["status"] == "pending_staff"
    assert "wagyu" not in turn.json()["reply"].lower()

    assert (await client.get("/escalations")).status_code == 401
    queue = (await client.get("/escalations", headers=STAFF)).json()
    assert len(queue) == 1 and queue[0]["agent"] == "menu"
    case = queue[0]["id"]

    answer = "Sorry, we don't serve wagyu; NY strip steak is our steak option."
    replied = await client.post(f"/escalations/{case}/reply", json={"text": answer}, headers=STAFF)
    assert replied.status_code == 200
    assert replied.json()["escalation"]["status"] == "resolved"
    again = await client.post(f"/escalations/{case}/reply", json={"text": "x"}, headers=STAFF)
    assert again.status_code == 409

    messages = (await client.get(f"/chat/sessions/{sid}", headers=auth)).json()["messages"]
    assert messages[-1]["role"] == "staff" and messages[-1]["content"] == answer
    signal = await session.scalar(select(TrainingSignal))
    assert signal is not None and signal.gold_answer == answer
    assert await count_rows(session, TrainingSignal) == 1
    assert (await client.get("/escalations", headers=STAFF)).json() == []


async def test_offline_default_answers_with_the_real_local_model(
    client: httpx.AsyncClient, session: AsyncSession, demo: None
) -> None:
    """Extractive teacher + SmolLM2 on llama.cpp + grounded critic, nothing scripted."""
    sid, auth = await open_session(client)
    turn = await client.post(
        f"/chat/sessions/{sid}/messages", json={"content": "What is the deposit?"}, headers=auth
    )
    assert turn.status_code == 200, turn.text
    rows = (await session.scalars(select(Candidate).order_by(Candidate.role))).all()
    assert {r.role for r in rows} == {"teacher", "student"}
    student = next(r for r in rows if r.role == "student")
    assert student.provider == "local" and student.text and student.output_tokens
    assert await count_rows(session, TrainingSignal) == 1


async def test_a_repeated_first_question_is_served_checked_from_the_cache(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    """The app wires the turn cache: a clean answer is reused, still with one signal a turn."""
    script_roles(runtime, GROUNDED, GROUNDED)
    first_sid, first_auth = await open_session(client)
    question = {"content": "Do you serve wagyu beef?"}
    first = await client.post(
        f"/chat/sessions/{first_sid}/messages", json=question, headers=first_auth
    )
    assert first.json()["status"] == "answered" and first.json()["cached"] is False
    calls = await count_rows(session, ProviderCall)

    sid, auth = await open_session(client)
    second = await client.post(f"/chat/sessions/{sid}/messages", json=question, headers=auth)
    assert second.status_code == 200, second.text
    assert second.json()["cached"] is True
    assert second.json()["reply"] == first.json()["reply"]
    rows = (await session.scalars(select(ProviderCall).where(ProviderCall.id > calls))).all()
    assert [r.outcome for r in rows] == ["cache_hit"]
    assert await count_rows(session, TrainingSignal) == 2


async def test_a_claimed_case_is_answered_only_by_its_claimer(
    app: FastAPI, client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    script_roles(runtime, HALLUCINATED, HALLUCINATED)
    sid, auth = await open_session(client)
    await client.post(f"/chat/sessions/{sid}/messages", json={"content": "wagyu?"}, headers=auth)
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://triad.test") as alice,
        httpx.AsyncClient(transport=transport, base_url="http://triad.test") as bob,
    ):
        await sign_in_as(alice, app, "alice@triad.test", "staff")
        await sign_in_as(bob, app, "bob@triad.test", "staff")
        case = (await alice.get("/escalations")).json()[0]["id"]

        claimed = await alice.post(f"/escalations/{case}/claim")
        assert claimed.status_code == 200, claimed.text
        assert claimed.json()["status"] == "claimed" and claimed.json()["claimed_by"] is not None
        assert (await alice.post(f"/escalations/{case}/claim")).status_code == 200  # no-op
        taken = await bob.post(f"/escalations/{case}/claim")
        assert taken.status_code == 409 and "claimed by someone else" in taken.text
        stolen = await bob.post(f"/escalations/{case}/reply", json={"text": "Bob's answer"})
        assert stolen.status_code == 409
        assert await count_rows(session, Message) == 2  # question and holding reply only

        done = await alice.post(f"/escalations/{case}/reply", json={"text": "No wagyu, sorry."})
        assert done.status_code == 200
        escalation = await session.get(Escalation, case)
        assert escalation is not None and escalation.status == "resolved"
        assert (await bob.post(f"/escalations/{case}/claim")).status_code == 409
    assert (await client.post("/escalations/999999/claim", headers=STAFF)).status_code == 404
