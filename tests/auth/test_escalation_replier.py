"""Staff replies are attributed to the signed-in user; service tokens still reply (no user)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import STAFF_EMAIL, STAFF_HEADERS
from triad.db.models import Conversation, Escalation, Message, User


async def _open_case(session: AsyncSession) -> int:
    conversation = Conversation(tenant="demo", agent="menu", token_hash="0" * 64)
    session.add(conversation)
    await session.flush()
    case = Escalation(conversation_id=conversation.id, agent="menu", reason="low consensus")
    session.add(case)
    await session.commit()
    return case.id


async def test_reply_records_the_staff_user(
    app: FastAPI, staff_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    case = await _open_case(session)
    response = await staff_client.post(f"/escalations/{case}/reply", json={"text": "Yes we do."})
    assert response.status_code == 200, response.text
    staff = await session.scalar(select(User).where(User.email == STAFF_EMAIL))
    message = await session.get(Message, response.json()["message_id"])
    assert staff is not None and message is not None
    assert message.staff_user_id == staff.id


async def test_service_token_reply_has_no_user(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    case = await _open_case(session)
    response = await client.post(
        f"/escalations/{case}/reply", json={"text": "Yes we do."}, headers=STAFF_HEADERS
    )
    assert response.status_code == 200, response.text
    message = await session.get(Message, response.json()["message_id"])
    assert message is not None
    assert message.role == "staff"
    assert message.staff_user_id is None
