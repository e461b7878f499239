"""Staff queue of escalated turns and the staff reply that resolves one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from triad.api.deps import CurrentStaff, SessionDep, StaffDep
from triad.api.input_guard import DbId
from triad.conversations import service

router = APIRouter(prefix="/escalations", tags=["escalations"], dependencies=[StaffDep])


class EscalationOut(BaseModel):
    id: int
    conversation_id: uuid.UUID
    message_id: int | None
    agent: str | None
    reason: str
    consensus: float | None
    status: str
    claimed_by: int | None
    claimed_at: datetime | None
    created_at: datetime
    resolved_at: datetime | None


class StaffReply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4000)


class StaffReplyOut(BaseModel):
    escalation: EscalationOut
    message_id: int


@router.get("")
async def list_escalations(
    session: SessionDep,
    status: Annotated[Literal["open", "claimed", "resolved"] | None, Query()] = "open",
    agent: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[EscalationOut]:
    """Escalated turns, newest first (open ones by default)."""
    rows = await service.list_escalations(session, status=status, agent=agent, limit=limit)
    return [EscalationOut.model_validate(r, from_attributes=True) for r in rows]


@router.post("/{escalation_id}/claim")
async def claim(escalation_id: DbId, session: SessionDep, principal: CurrentStaff) -> EscalationOut:
    """Take the case so no one else answers it; 409 when someone else already has it.

    A service token has no user to own the claim, so it is refused (422, after the 404 for a
    case that does not exist); it can still reply.
    """
    escalation = await service.claim_escalation(
        session, escalation_id=escalation_id, user_id=principal.user_id
    )
    return EscalationOut.model_validate(escalation, from_attributes=True)


@router.post("/{escalation_id}/reply")
async def reply(
    escalation_id: DbId, body: StaffReply, session: SessionDep, principal: CurrentStaff
) -> StaffReplyOut:
    """Answer the customer in their session; the case is resolved and the answer kept as gold."""
    escalation, message = await service.reply_to_escalation(
        session, escalation_id=escalation_id, text=body.text, staff_user_id=principal.user_id
    )
    return StaffReplyOut(
        escalation=EscalationOut.model_validate(escalation, from_attributes=True),
        message_id=message.id,
    )
