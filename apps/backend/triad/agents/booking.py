"""Booking extraction and validation as pure functions, so a booking is checked the same way
whichever model wrote the reply; the caller records the booking.

Dates and times are the tenant's local time (`business.timezone` of its rules): `local_now`
turns the current instant into it. A naive `now` is taken as already local; an aware one is
compared as an instant, so a lead time across a daylight-saving change is still exact.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from triad.agents.extract import extract_guests, find_city
from triad.agents.facts import clock, join, money, num, word
from triad.agents.quote import QuoteRequest, compute_quote
from triad.agents.rules import WEEKDAYS, BusinessRules
from triad.lexicon import normalized

Severity = Literal["blocking", "missing", "ask", "needs_approval", "info"]
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_STREET = (
    r"\b\d{1,6}\s+(?:[A-Z0-9][\w.'-]*\s+){0,4}?(?i:st|street|ave|avenue|rd|road|blvd|boulevard|"
    r"dr|drive|ln|lane|way|ct|court|pl|place|cir|circle|pkwy|parkway|ter|terrace|trl|trail)\b\.?"
    r"(?:,?\s+(?:Apt|Unit|Suite|#)\s*[\w-]+)?(?:,\s*([A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,2}))?"
    r"(?:,?\s*(?:CA|California))?(?:\s+\d{5})?"
)
_INDOORS = r"\b(?:indoors?|inside (?:the|our|my) (?:house|home)|in (?:our|my|the) kitchen)\b"
_LABELS = {
    "date": "date",
    "start_time": "start time",
    "address": "address",
    "adults": "number of adults",
    "children": "number of children",
    "proteins": "protein choices",
}


class BookingDraft(BaseModel):
    """What the customer has told us so far; None means not said yet."""

    model_config = ConfigDict(extra="forbid")

    event_date: date | None = None
    start_time: time | None = None
    address: str | None = None
    city: str | None = None
    adults: int | None = Field(default=None, ge=0)
    children: int | None = Field(default=None, ge=0)
    under_4: int | None = Field(default=None, ge=0)
    proteins: list[str] = Field(default_factory=list)
    not_served: list[str] = Field(default_factory=list)
    indoors: bool = False
    assumptions: list[str] = Field(default_factory=list)

    @property
    def guests(self) -> int | None:
        counts = [self.adults, self.children, self.under_4]
        return None if all(c is None for c in counts) else sum(c or 0 for c in counts)


class RuleViolation(BaseModel):
    """One finding about one rule; only `blocking` findings stop a booking outright."""

    model_config = ConfigDict(frozen=True)

    rule: str
    severity: Severity
    message: str
    fields: list[str] = Field(default_factory=list)


def local_now(rules: BusinessRules, now: datetime | None = None) -> datetime:
    """`now` (default: this instant) on the tenant's clock, whatever the server's zone."""
    zone = ZoneInfo(rules.business.timezone)
    if now is None:
        return datetime.now(zone)
    return now if now.tzinfo is None else now.astimezone(zone)


def _later(at: datetime, hours: float) -> datetime:
    """`hours` after `at` as elapsed time (not wall-clock time), in `at`'s zone."""
    if at.tzinfo is None:
        return at + timedelta(hours=hours)
    return (at.astimezone(UTC) + timedelta(hours=hours)).astimezone(at.tzinfo)


def _before(a: datetime, b: datetime) -> bool:
    """Whether instant `a` comes before `b` (aware values are compared in UTC)."""
    if a.tzinfo is None or b.tzinfo is None:
        return a.replace(tzinfo=None) < b.replace(tzinfo=None)
    return a.astimezone(UTC) < b.astimezone(UTC)


def _future(d: date, today: date) -> date:
    return d if d >= today else d.replace(year=d.year + 1)


def parse_date(text: str, today: date) -> date | None:
    """The first date in text: ISO, "June 14", "14 June", "6/14", "tomorrow", "next Saturday"."""
    t, found = normalized(text), []
    year = r"(?:,?\s+(\d{4}))?"
    for m in re.finditer(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", t):
        found.append((m.start(), (int(m[1]), int(m[2]), int(m[3])), True))
    for m in re.finditer(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?\b{year}", t):
        found.append((m.start(), (int(m[3] or 0), _MONTHS.index(m[1]) + 1, int(m[2])), bool(m[3])))
    for m in re.finditer(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}{year}", t):
        found.append((m.start(), (int(m[3] or 0), _MONTHS.index(m[2]) + 1, int(m[1])), bool(m[3])))
    for m in re.finditer(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?(?![\d/])", t):
        y = int(m[3]) + (2000 if m[3] and len(m[3]) == 2 else 0) if m[3] else 0
        found.append((m.start(), (y, int(m[1]), int(m[2])), bool(m[3])))
    for _, (y, mo, d), has_year in sorted(found):
        try:
            day = date(y if has_year else today.year, mo, d)
        except ValueError:
            continue
        return day if has_year else _future(day, today)
    if rel := re.search(r"\b(today|tonight|tomorrow)\b", t):
        return today + timedelta(days=0 if rel[1] != "tomorrow" else 1)
    if wd := re.search(rf"\b(?<!a )(?:(this|next|coming)\s+)?({'|'.join(WEEKDAYS)})\b", t):
        ahead = ([str(d) for d in WEEKDAYS].index(wd[2]) - today.weekday()) % 7
        return today + timedelta(days=ahead or (0 if wd[1] == "this" else 7))
    return None


def parse_time(text: str) -> tuple[time | None, str | None]:
    """The start time in text ("6pm", "6:30 p.m.", "18:30", "noon") and any assumption made.

    A bare "6:30" is read as PM for hours 1 to 8 (nobody means a 6:30 AM party) and said so.
    """
    t = text.lower()
    if m := re.search(r"\b(\d{1,2})(?::([0-5]\d))?\s*([ap])\.?\s?m\b\.?", t):
        hour = int(m[1]) % 12 + (12 if m[3] == "p" else 0)
        return (time(hour, int(m[2] or 0)), None) if int(m[1]) <= 12 else (None, None)
    if re.search(r"\bnoon\b", t):
        return time(12), None
    if m := re.search(r"(?<![\d:])([01]?\d|2[0-3]):([0-5]\d)(?![\d:])", t):
        hour, minute = int(m[1]), int(m[2])
        if 1 <= hour <= 8 and not m[1].startswith("0"):
            return time(hour + 12, minute), f"Read {m[0]} as {clock(time(hour + 12, minute))}."
        return time(hour, minute), None
    return None, None


def _proteins(text: str, rules: BusinessRules) -> list[str]:
    items = [*rules.menu.standard_proteins, *rules.menu.premium_upgrades]
    pairs = sorted(
        ((a.lower(), i.name) for i in items for a in [i.name, *i.aliases]), key=lambda p: -len(p[0])
    )
    t, hits = text.lower(), []
    for alias, name in pairs:
        for m in re.finditer(rf"\b{re.escape(alias)}\b", t):
            negated = re.search(
                r"(?:\bno|\bnot|without|allergic to|allergy to)\s+$", t[: m.start()]
            )
            if not negated and not re.match(r"\s+allerg", t[m.end() :]):
                hits.append((m.start(), name))
            t = t[: m.start()] + " " * len(alias) + t[m.end() :]
    return list(dict.fromkeys(name for _, name in sorted(hits)))


def extract_booking(messages: list[str], rules: BusinessRules, today: date) -> BookingDraft:
    """Fold a conversation into a draft booking; later messages override earlier ones."""
    draft = BookingDraft()
    for text in messages:
        update: dict[str, object] = {}
        if (day := parse_date(text, today)) is not None:
            update["event_date"] = day
        start, assumption = parse_time(text)
        if start is not None:
            update["start_time"] = start
        guests = extract_guests(text, rules)
        notes = [*guests.assumptions, *([assumption] if assumption else [])]
        update["assumptions"] = [*draft.assumptions, *notes]
        if m := re.search(_STREET, text):
            update["address"] = m[0].strip().rstrip(".")
        if city := (m and m[1]) or find_city(text, rules):
            update["city"] = rules.city_status(city).name
        update |= {
            k: v for k in ("adults", "children", "under_4") if (v := getattr(guests, k)) is not None
        }
        if proteins := _proteins(text, rules):
            update["proteins"] = proteins
        lowered = text.lower()
        refused = [
            n
            for n in rules.not_served()
            if n in lowered or (len(n.split()[0]) >= 5 and n.split()[0] in lowered)
        ]
        update["not_served"] = list(dict.fromkeys([*draft.not_served, *refused]))
        update["indoors"] = draft.indoors or bool(re.search(_INDOORS, lowered))
        draft = draft.model_copy(update=update)
    return draft


def earliest_start(rules: BusinessRules, now: datetime) -> datetime:
    """The first start time the lead time, start window and open days allow, on the half hour."""
    bk = rules.booking
    at = _later(now, bk.lead_time_hours)
    if at.second or at.microsecond:
        at = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
    at += timedelta(minutes=-at.minute % 30)
    while True:
        if at.time() < bk.start_window.earliest:
            at = datetime.combine(at.date(), bk.start_window.earliest, at.tzinfo)
        if at.time() > bk.start_window.latest or WEEKDAYS[at.weekday()] not in bk.days:
            at = datetime.combine(
                at.date() + timedelta(days=1), bk.start_window.earliest, at.tzinfo
            )
            continue
        return at


def _when(at: datetime) -> str:
    return f"{at:%A}, {at:%B} {at.day} at {clock(at.time())}"


def _schedule(draft: BookingDraft, rules: BusinessRules, now: datetime) -> list[RuleViolation]:
    bk, out = rules.booking, []
    window = f"between {clock(bk.start_window.earliest)} and {clock(bk.start_window.latest)}"
    start = draft.start_time
    if start and not bk.start_window.earliest <= start <= bk.start_window.latest:
        msg = f"Events can start {window}; {clock(start)} is outside that window."
        out.append(
            RuleViolation(
                rule="start_window", severity="blocking", message=msg, fields=["start_time"]
            )
        )
    day = draft.event_date
    if day is None:
        return out
    if WEEKDAYS[day.weekday()] not in bk.days:
        msg = f"We do not cater on {WEEKDAYS[day.weekday()].title()}s."
        out.append(RuleViolation(rule="days", severity="blocking", message=msg, fields=["date"]))
    if day < now.date():
        msg = f"{day:%B} {day.day}, {day.year} has already passed."
        return [
            *out,
            RuleViolation(rule="lead_time", severity="blocking", message=msg, fields=["date"]),
        ]
    event = datetime.combine(day, start or bk.start_window.latest, now.tzinfo)
    if _before(event, _later(now, bk.lead_time_hours)):
        msg = (
            f"Events must be booked at least {bk.lead_time_hours} hours in advance; the earliest "
            f"start we can accept is {_when(earliest_start(rules, now))}."
        )
        fields = ["date", "start_time"] if start else ["date"]
        out.append(RuleViolation(rule="lead_time", severity="blocking", message=msg, fields=fields))
    return out


def _area(draft: BookingDraft, rules: BusinessRules) -> list[RuleViolation]:
    tr, free = rules.pricing.travel, num(rules.pricing.travel.free_miles)
    kitchen = rules.business.kitchen_city
    if draft.city is None:
        if draft.address is None:
            return []
        msg = "Which city is the address in? We need it to check our service area."
        return [RuleViolation(rule="service_area", severity="ask", message=msg, fields=["address"])]
    status = rules.city_status(draft.city)
    if status.zone == "free":
        msg = f"{status.name} is in our free {free}-mile zone, so there is no travel fee."
        return [RuleViolation(rule="service_area", severity="info", message=msg)]
    if status.zone == "fee" and status.miles is not None:
        msg = (
            f"{status.name} is about {num(status.miles)} miles from our {kitchen} kitchen; "
            f"beyond the first {free} miles we charge {money(tr.per_mile)} per mile, one way, "
            f"so the travel fee is about {money(tr.fee(status.miles))}."
        )
        return [RuleViolation(rule="service_area", severity="info", message=msg)]
    if status.zone == "outside":
        msg = f"{status.name} is outside our service area, so we cannot cater events there."
        return [
            RuleViolation(rule="service_area", severity="blocking", message=msg, fields=["address"])
        ]
    msg = (
        f"{status.name} is not on our service-area list; staff will confirm the distance from "
        f"our {kitchen} kitchen. We travel up to {num(tr.max_miles)} miles: the first {free} "
        f"are free, then {money(tr.per_mile)} per mile, one way."
    )
    return [RuleViolation(rule="service_area", severity="ask", message=msg, fields=["address"])]


def _party(draft: BookingDraft, rules: BusinessRules) -> list[RuleViolation]:
    guests = draft.guests
    if guests is None:
        return []
    if guests == 0 and draft.adults is not None and draft.children is not None:
        msg = "A booking needs at least one guest."
        return [
            RuleViolation(rule="party_size", severity="blocking", message=msg, fields=["adults"])
        ]
    chefs = rules.chefs_for(guests)
    if chefs is None:
        msg = (
            f"Parties over {rules.approval_above} guests need staff approval; a staff member will "
            f"confirm your party of {guests} before the booking is final."
        )
        return [RuleViolation(rule="party_size", severity="needs_approval", message=msg)]
    first = rules.booking.chefs[0]
    msg = (
        f"A party of {guests} guests gets {word(chefs)} chef{'s' if chefs > 1 else ''} "
        f"({word(first.chefs)} chef serves up to {first.max_guests} guests)."
    )
    out = [RuleViolation(rule="chefs", severity="info", message=msg)]
    req = QuoteRequest(
        adults=draft.adults or 0, children=draft.children or 0, under_4=draft.under_4 or 0
    )
    quote = compute_quote(req, rules)
    if quote.minimum_adjustment:
        minimum = money(rules.pricing.event_minimum.amount)
        msg = (
            f"The per-guest total is {money(quote.food_total, cents=True)}, so the {minimum} "
            f"event minimum applies (before travel fees, tips and tax)."
        )
        out.append(RuleViolation(rule="event_minimum", severity="info", message=msg))
    return out


def validate_booking(
    draft: BookingDraft, rules: BusinessRules, now: datetime
) -> list[RuleViolation]:
    """Every rule the draft breaks or must be told about, each explained in the rule's words."""
    values = {
        "date": draft.event_date,
        "start_time": draft.start_time,
        "address": draft.address,
        "adults": draft.adults,
        "children": draft.children,
        "proteins": draft.proteins or None,
    }
    missing = [f for f in rules.booking.required_fields if values[f] is None]
    out = []
    if missing:
        msg = f"To book, we still need the {join([_LABELS[f] for f in missing])}."
        out.append(
            RuleViolation(rule="required_fields", severity="missing", message=msg, fields=missing)
        )
    out += _schedule(draft, rules, now) + _area(draft, rules) + _party(draft, rules)
    if draft.indoors and not rules.venue.indoor_cooking:
        msg = f"The grill must be used {join(rules.venue.allowed, 'or')}; we cannot cook indoors."
        out.append(RuleViolation(rule="venue", severity="blocking", message=msg))
    for item in draft.not_served:
        choices = join([p.name for p in rules.menu.standard_proteins], "or")
        msg = f"We do not serve {item}; the standard proteins are {choices}."
        out.append(RuleViolation(rule="menu", severity="ask", message=msg, fields=["proteins"]))
    return out
