"""The booking agent's record: a draft request per conversation, validated against the rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from triad.agents.booking import (
    BookingDraft,
    RuleViolation,
    extract_booking,
    local_now,
    validate_booking,
)
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

    "Today" and the lead time are the tenant's (`now` is converted to its zone). The row is
    upserted, so a double submit updates the one request instead of failing on its unique
    conversation; it lands, uncommitted, with the rest of the turn.
    """
    now = local_now(rules, now)
    draft = extract_booking(customer_texts, rules, now.date())
    if not _has_details(draft):
        return BookingCheck(request=None)
    violations = validate_booking(draft, rules, now)
    values = {
        "status": _status(violations),
        "event_date": draft.event_date,
        "start_time": draft.start_time,
        "city": draft.city,
        "address": draft.address,
        "adults": draft.adults,
        "children": draft.children,
        "proteins": list(draft.proteins),
        "violations": [v.model_dump(mode="json") for v in violations],
        "needs_approval": any(v.severity == "needs_approval" for v in violations),
    }
    upsert = (
        insert(BookingRequest)
        .values(conversation_id=conversation.id, tenant=conversation.tenant, **values)
        .on_conflict_do_update(
            index_elements=[BookingRequest.conversation_id],
            set_={**values, "updated_at": func.now()},
        )
        .returning(BookingRequest)
    )
    request = await session.scalar(upsert, execution_options={"populate_existing": True})
    return BookingCheck(request=request, violations=violations)
