"""The booking agent's record: a draft request per conversation, validated against the rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from triad.agents.booking import BookingDraft, RuleViolation, extract_booking, validate_booking
from triad.agents.rules import BusinessRules
from triad.db.models import BookingRequest, Conversation

TELL_CUSTOMER = ("blocking", "missing", "ask", "needs_approval")


@dataclass
class BookingCheck:
    """The request as it stands and the rule verdicts the customer must hear."""

    request: BookingRequest | None
    violations: list[RuleViolation] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        return [v.message for v in self.violations if v.severity in TELL_CUSTOMER]


def _has_details(draft: BookingDraft) -> bool:
    return any(
        value is not None
        for value in (draft.event_date, draft.start_time, draft.city, draft.address, draft.adults)
    )


def _status(violations: list[RuleViolation]) -> str:
    severities = {v.severity for v in violations}
    if "blocking" in severities:
        return "invalid"
    if severities & {"missing", "ask"}:
        return "needs_info"
    return "pending_staff"


async def track_booking(
    session: AsyncSession,
    *,
    conversation: Conversation,
    customer_texts: list[str],
    rules: BusinessRules,
    now: datetime,
) -> BookingCheck:
    """Fold the customer's messages into the conversation's booking request and validate it.

    Adds or updates the row without committing: it lands with the rest of the turn.
    """
    draft = extract_booking(customer_texts, rules, now.date())
    if not _has_details(draft):
        return BookingCheck(request=None)
    violations = validate_booking(draft, rules, now)
    request = await session.scalar(
        select(BookingRequest).where(BookingRequest.conversation_id == conversation.id)
    )
    if request is None:
        request = BookingRequest(conversation_id=conversation.id, tenant=conversation.tenant)
        session.add(request)
    request.status = _status(violations)
    request.event_date = draft.event_date
    request.start_time = draft.start_time
    request.city = draft.city
    request.address = draft.address
    request.adults = draft.adults
    request.children = draft.children
    request.proteins = list(draft.proteins)
    request.violations = [v.model_dump(mode="json") for v in violations]
    request.needs_approval = any(v.severity == "needs_approval" for v in violations)
    request.updated_at = datetime.now(UTC)
    await session.flush()
    return BookingCheck(request=request, violations=violations)
