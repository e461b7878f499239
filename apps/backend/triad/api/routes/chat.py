"""Customer chat: sessions guarded by a token, turns answered by the ensemble, feedback."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from triad.api.deps import ChatSessionLimit, EmbedderDep, RuntimeDep, SessionDep, SettingsDep
from triad.api.input_guard import DbId
from triad.conversations import service

router = APIRouter(prefix="/chat", tags=["chat"])

MAX_MESSAGE_CHARS = 2000
AgentName = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")]
TokenHeader = Annotated[
    str | None, Header(alias="X-Session-Token", description="the token from POST /chat/sessions")
]


class NewSession(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent: AgentName | None = Field(default=None, description="pin the session to one agent")
    customer_ref: str | None = Field(default=None, max_length=200)


class SessionCreated(BaseModel):
    session_id: uuid.UUID
    token: str = Field(description="send it back as X-Session-Token; it is shown only once")


class NewMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    agent: AgentName | None = None
    user_id: str | None = Field(default=None, max_length=200)

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("content must not be blank")
        return value


class MessageOut(BaseModel):
    id: int
    role: str
    content: str
    agent: str | None
    feedback: int | None
    created_at: datetime


class TurnOut(BaseModel):
    message_id: int = Field(description="the reply's id, for feedback")
    question_id: int
    agent: str
    reply: str
    status: Literal["answered", "answered_pending_review", "pending_staff"]
    degraded: bool = False
    cached: bool = Field(default=False, description="served from a reply checked earlier")


class SessionOut(BaseModel):
    session_id: uuid.UUID
    agent: str | None
    messages: list[MessageOut]


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: Literal["up", "down"]


_STATUS = {
    "send": "answered",
    "send_and_escalate": "answered_pending_review",
    "hold_and_escalate": "pending_staff",
}


def _out(m: object) -> MessageOut:
    return MessageOut.model_validate(m, from_attributes=True)


@router.post("/sessions", status_code=status.HTTP_201_CREATED, dependencies=[ChatSessionLimit])
async def create_session(
    session: SessionDep, settings: SettingsDep, runtime: RuntimeDep, body: NewSession | None = None
) -> SessionCreated:
    """Open a chat session; the returned token is required for every later call. Each client
    address may open a limited number per minute (429 with Retry-After beyond it)."""
    body = body or NewSession()
    if body.agent is not None:
        runtime.check_agent(body.agent)
    conversation, token = await service.create_conversation(
        session, tenant=settings.tenant, agent=body.agent, customer_ref=body.customer_ref
    )
    return SessionCreated(session_id=conversation.id, token=token)


@router.post("/sessions/{session_id}/messages")
async def post_message(
    session_id: uuid.UUID,
    body: NewMessage,
    session: SessionDep,
    runtime: RuntimeDep,
    embedder: EmbedderDep,
    token: TokenHeader = None,
) -> TurnOut:
    """Ask a question: teacher and student answer, the critic checks, the winner is sent."""
    conversation = await service.authorize(session, conversation_id=session_id, token=token)
    if body.agent is not None:
        runtime.check_agent(body.agent)
    turn = await service.answer_turn(
        session,
        conversation=conversation,
        text=body.content,
        agent=body.agent,
        ensemble=runtime.ensemble,
        selector=runtime.selector,
        lesson_limit=runtime.prompt_lessons,
        embedder=embedder,
        user_id=body.user_id,
        cache=runtime.turn_cache,
    )
    return TurnOut(
        message_id=turn.reply.id,
        question_id=turn.question.id,
        agent=turn.result.agent,
        reply=turn.reply.content,
        status=_STATUS[turn.result.decision],
        degraded=turn.reply.degraded,
        cached=turn.cached,
    )


@router.get("/sessions/{session_id}")
async def get_session(
    session_id: uuid.UUID, session: SessionDep, token: TokenHeader = None
) -> SessionOut:
    """The whole conversation, staff replies included (poll it to see a staff answer)."""
    conversation = await service.authorize(session, conversation_id=session_id, token=token)
    messages = await service.history(session, conversation.id)
    return SessionOut(
        session_id=conversation.id,
        agent=conversation.agent,
        messages=[_out(m) for m in messages if m.role != "system"],
    )


@router.post("/messages/{message_id}/feedback")
async def feedback(
    message_id: DbId, body: Feedback, session: SessionDep, token: TokenHeader = None
) -> MessageOut:
    """Thumbs up or down on a reply in the caller's own session."""
    message = await service.set_feedback(
        session, message_id=message_id, token=token, value=1 if body.value == "up" else -1
    )
    return _out(message)
