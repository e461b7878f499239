"""Staff console: the escalation queue, one case with the critic's evidence, claim and reply."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from triad import errors
from triad.api.deps import SessionDep, StaffPage
from triad.api.errors import status_for
from triad.api.input_guard import DbId
from triad.conversations import service
from triad.db.models import (
    Candidate,
    CriticEvaluation,
    Escalation,
    KnowledgeChunk,
    KnowledgeDocument,
    Message,
    TrainingSignal,
    User,
)
from triad_admin.render import render

router = APIRouter(prefix="/staff")

StatusFilter = Literal["open", "claimed", "resolved", "all"]
STATUSES: tuple[StatusFilter, ...] = ("open", "claimed", "resolved", "all")
MAX_REPLY_CHARS = 4000
DONE_MESSAGES = {
    "claimed": "You claimed this case; nobody else can answer it now.",
    "replied": "Your reply was sent to the customer and the case is resolved.",
}


def error_page(request: Request, exc: errors.TriadError, *, back: str) -> HTMLResponse:
    """A readable page for a refused action (409 claimed elsewhere, 404, 422), never a 500."""
    return render(
        request,
        "error.html",
        {"message": str(exc), "back": back, "status": status_for(exc)},
        status_code=status_for(exc),
    )


@dataclass
class Segment:
    text: str
    status: str | None = None
    reason: str = ""


@dataclass
class CandidateView:
    role: str
    provider: str
    model: str
    text: str | None
    error: str | None
    score: float | None
    winner: bool
    segments: list[Segment] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)


def segments(text: str, claims: list[dict[str, Any]]) -> list[Segment]:
    """Split an answer into plain text and claim spans, so each claim can carry its verdict."""
    out: list[Segment] = []
    cursor = 0
    for claim in sorted(claims, key=lambda c: (int(c.get("start", 0)), int(c.get("end", 0)))):
        start, end = int(claim.get("start", 0)), int(claim.get("end", 0))
        if start < cursor or end <= start or end > len(text):
            continue
        if start > cursor:
            out.append(Segment(text[cursor:start]))
        out.append(Segment(text[start:end], str(claim.get("status")), str(claim.get("reason", ""))))
        cursor = end
    if cursor < len(text):
        out.append(Segment(text[cursor:]))
    return out


async def _staff_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    query = select(User.id, User.display_name, User.email).where(User.id.in_(ids))
    rows = await session.execute(query)
    return {uid: name or email for uid, name, email in rows}


async def _questions(session: AsyncSession, rows: list[Escalation]) -> dict[int, str]:
    """The customer's question behind each escalated reply, by escalation id."""
    replies = {r.message_id: r.id for r in rows if r.message_id is not None}
    if not replies:
        return {}
    reply, question = aliased(Message), aliased(Message)
    found = await session.execute(
        select(reply.id, question.content)
        .join(question, question.id == reply.reply_to_id)
        .where(reply.id.in_(replies))
    )
    return {replies[reply_id]: content for reply_id, content in found}


@router.get("", include_in_schema=False)
async def staff_home(_: StaffPage) -> RedirectResponse:
    return RedirectResponse("/staff/escalations", status_code=303)


@router.get("/escalations")
async def queue(
    request: Request,
    principal: StaffPage,
    session: SessionDep,
    status: Annotated[StatusFilter, Query()] = "open",
    agent: Annotated[str | None, Query(max_length=32)] = None,
    done: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    """Escalated turns, newest first, by status and agent."""
    agent = agent or None
    rows = await service.list_escalations(
        session, status=None if status == "all" else status, agent=agent, limit=200
    )
    agents = sorted(
        a for a in await session.scalars(select(Escalation.agent).distinct()) if a is not None
    )
    names = await _staff_names(session, {r.claimed_by for r in rows if r.claimed_by is not None})
    return render(
        request,
        "staff/queue.html",
        {
            "principal": principal,
            "rows": rows,
            "questions": await _questions(session, rows),
            "status": status,
            "statuses": STATUSES,
            "agent": agent,
            "agents": agents,
            "names": names,
            "flash": DONE_MESSAGES.get(done or ""),
        },
    )


@router.get("/escalations/{escalation_id}", response_model=None)
async def case(
    request: Request,
    escalation_id: DbId,
    principal: StaffPage,
    session: SessionDep,
    done: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """One case: the conversation, both answers with per-claim verdicts, consensus, passages."""
    escalation = await session.get(Escalation, escalation_id)
    if escalation is None:
        return error_page(
            request,
            errors.NotFoundError(f"escalation {escalation_id} not found"),
            back="/staff/escalations",
        )
    context = await _evidence_context(session, escalation.conversation_id, escalation.message_id)
    names = await _staff_names(
        session, {escalation.claimed_by} if escalation.claimed_by is not None else set()
    )
    return render(
        request,
        "staff/case.html",
        {
            "principal": principal,
            "escalation": escalation,
            "claimed_by_name": names.get(escalation.claimed_by or 0),
            "mine": escalation.claimed_by is not None
            and escalation.claimed_by == principal.user_id,
            "flash": DONE_MESSAGES.get(done or ""),
            "trace_url": trace_url(request, escalation.trace_id),
            **context,
        },
    )


def trace_url(request: Request, trace_id: str | None) -> str | None:
    """The turn's trace in the team's trace viewer (TRIAD_TRACE_URL, `{trace_id}` filled in)."""
    template = getattr(request.app.state.settings, "trace_url", None)
    if not trace_id or not template:
        return None
    return str(template).replace("{trace_id}", trace_id)


async def _evidence_context(
    session: AsyncSession, conversation_id: Any, message_id: int | None
) -> dict[str, Any]:
    """What the critic saw for one answered turn: answers, verdicts, consensus, passages."""
    messages = await service.history(session, conversation_id)
    reply = await session.get(Message, message_id) if message_id else None
    candidates: list[CandidateView] = []
    evaluation = None
    passages: list[tuple[KnowledgeChunk, KnowledgeDocument]] = []
    signal = None
    if reply is not None:
        evaluation = await session.scalar(
            select(CriticEvaluation).where(CriticEvaluation.message_id == reply.id)
        )
        claims = list(evaluation.claims) if evaluation is not None else []
        winner_id = evaluation.winner_candidate_id if evaluation is not None else None
        for row in await session.scalars(
            select(Candidate).where(Candidate.message_id == reply.id).order_by(Candidate.id)
        ):
            mine = [c for c in claims if c.get("role") == row.role]
            candidates.append(
                CandidateView(
                    role=row.role,
                    provider=row.provider,
                    model=row.model,
                    text=row.text,
                    error=row.error,
                    score=row.score,
                    winner=row.id == winner_id,
                    segments=segments(row.text or "", mine),
                    claims=mine,
                )
            )
        signal = await session.scalar(
            select(TrainingSignal).where(TrainingSignal.message_id == reply.id)
        )
        ids = [int(i) for i in (signal.passage_ids if signal is not None else [])]
        if ids:
            found = {
                chunk.id: (chunk, doc)
                for chunk, doc in await session.execute(
                    select(KnowledgeChunk, KnowledgeDocument)
                    .join(KnowledgeDocument, KnowledgeChunk.document_id == KnowledgeDocument.id)
                    .where(KnowledgeChunk.id.in_(ids))
                )
            }
            passages = [found[i] for i in ids if i in found]
    return {
        "messages": [m for m in messages if m.role != "system"],
        "reply": reply,
        "candidates": candidates,
        "evaluation": evaluation,
        "signal": signal,
        "passages": passages,
        "conversation_id": conversation_id,
        "focus_message_id": message_id,
    }


@router.get("/turns/{message_id}", response_model=None)
async def turn(
    request: Request, message_id: DbId, principal: StaffPage, session: SessionDep
) -> Response:
    """One answered turn (a lesson's evidence): the same view as a case, without the reply form."""
    message = await session.get(Message, message_id)
    if message is None or message.role != "assistant":
        exc = errors.NotFoundError(f"answered turn {message_id} not found")
        return error_page(request, exc, back="/staff/escalations")
    context = await _evidence_context(session, message.conversation_id, message.id)
    escalation = await session.scalar(select(Escalation).where(Escalation.message_id == message.id))
    return render(
        request,
        "staff/turn.html",
        {"principal": principal, "message": message, "escalation": escalation, **context},
    )


@router.post("/escalations/{escalation_id}/claim", response_model=None)
async def claim(
    request: Request, escalation_id: DbId, principal: StaffPage, session: SessionDep
) -> Response:
    """Claim the case, then back to it."""
    back = f"/staff/escalations/{escalation_id}"
    try:
        await service.claim_escalation(
            session, escalation_id=escalation_id, user_id=principal.user_id
        )
    except errors.TriadError as exc:
        await session.rollback()
        return error_page(request, exc, back=back)
    return RedirectResponse(f"{back}?done=claimed", status_code=303)


@router.post("/escalations/{escalation_id}/reply", response_model=None)
async def reply(
    request: Request,
    escalation_id: DbId,
    principal: StaffPage,
    session: SessionDep,
    text: Annotated[str, Form()] = "",
) -> Response:
    """Send the answer into the customer's session; the case is resolved and kept as gold."""
    back = f"/staff/escalations/{escalation_id}"
    try:
        if len(text) > MAX_REPLY_CHARS:
            raise errors.InputError(
                f"the reply is {len(text)} characters; at most {MAX_REPLY_CHARS}"
            )
        await service.reply_to_escalation(
            session, escalation_id=escalation_id, text=text, staff_user_id=principal.user_id
        )
    except errors.TriadError as exc:
        await session.rollback()
        return error_page(request, exc, back=back)
    return RedirectResponse(f"{back}?done=replied", status_code=303)
