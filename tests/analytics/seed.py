"""Seed real turns through the chat API with scripted teacher and student, then place them in
time: every row of a turn gets the `created_at` the test asks for."""

from __future__ import annotations

from datetime import datetime

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import STAFF_HEADERS
from tests.support.scripted import Script, ScriptedProvider
from triad.db.models import (
    Candidate,
    CriticEvaluation,
    Escalation,
    Message,
    ProviderCall,
    TrainingSignal,
)
from triad.runtime import Runtime

TEACHER_MODEL = "teacher-model"
STUDENT_MODEL = "student-model"


def script(runtime: Runtime, teacher: Script, student: Script) -> None:
    """Scripted teacher and student (told apart by model name); no turn cache, so every turn
    runs both roles."""
    runtime.turn_cache = None
    profile = runtime.config.active(runtime.settings.ensemble_profile)
    runtime.use_provider(profile.teacher.model, ScriptedProvider(teacher, model=TEACHER_MODEL))
    runtime.use_provider(profile.student.model, ScriptedProvider(student, model=STUDENT_MODEL))


async def open_chat(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    created = await client.post("/chat/sessions", json={})
    assert created.status_code == 201, created.text
    body = created.json()
    return body["session_id"], {"X-Session-Token": body["token"]}


async def ask(
    client: httpx.AsyncClient,
    runtime: Runtime,
    teacher: Script,
    student: Script,
    question: str = "Do you serve wagyu beef?",
    *,
    chat: tuple[str, dict[str, str]] | None = None,
    feedback: str | None = None,
) -> int:
    """One turn of the menu agent; the reply's message id."""
    script(runtime, teacher, student)
    sid, auth = chat or await open_chat(client)
    turn = await client.post(
        f"/chat/sessions/{sid}/messages",
        json={"content": question, "agent": "menu"},
        headers=auth,
    )
    assert turn.status_code == 200, turn.text
    message_id: int = turn.json()["message_id"]
    if feedback is not None:
        voted = await client.post(
            f"/chat/messages/{message_id}/feedback", json={"value": feedback}, headers=auth
        )
        assert voted.status_code == 200, voted.text
    return message_id


async def staff_reply(client: httpx.AsyncClient, message_id: int, text: str) -> None:
    """Answer the escalation of `message_id` as staff (its signal gets the gold answer)."""
    queue = (await client.get("/escalations", headers=STAFF_HEADERS)).json()
    case = next(e["id"] for e in queue if e["message_id"] == message_id)
    replied = await client.post(
        f"/escalations/{case}/reply", json={"text": text}, headers=STAFF_HEADERS
    )
    assert replied.status_code == 200, replied.text


async def place(session: AsyncSession, message_id: int, at: datetime) -> None:
    """Move the turn of reply `message_id` (and its question) to `at`."""
    reply = await session.get(Message, message_id)
    assert reply is not None
    ids = [message_id, reply.reply_to_id]
    await session.execute(update(Message).where(Message.id.in_(ids)).values(created_at=at))
    for model in (Candidate, CriticEvaluation, ProviderCall, TrainingSignal, Escalation):
        await session.execute(
            update(model).where(model.message_id == message_id).values(created_at=at)
        )
    await session.commit()
