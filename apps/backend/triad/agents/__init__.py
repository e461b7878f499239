"""The domain agents' deterministic side: business rules, the quote calculator, booking checks.

Models write the replies; these pure functions supply the numbers and verdicts the replies
must agree with, and the sentences the critic checks claims against.
"""

from triad.agents.booking import (
    BookingDraft,
    RuleViolation,
    earliest_start,
    extract_booking,
    parse_date,
    parse_time,
    validate_booking,
)
from triad.agents.extract import GuestCounts, extract_guests, extract_quote_request, find_city
from triad.agents.quote import Quote, QuoteLine, QuoteRefusedError, QuoteRequest, compute_quote
from triad.agents.rules import (
    AgentSpec,
    BusinessRules,
    CityStatus,
    MenuItem,
    load_rules,
)

__all__ = [
    "AgentSpec",
    "BookingDraft",
    "BusinessRules",
    "CityStatus",
    "GuestCounts",
    "MenuItem",
    "Quote",
    "QuoteLine",
    "QuoteRefusedError",
    "QuoteRequest",
    "RuleViolation",
    "compute_quote",
    "earliest_start",
    "extract_booking",
    "extract_guests",
    "extract_quote_request",
    "find_city",
    "load_rules",
    "parse_date",
    "parse_time",
    "validate_booking",
]
