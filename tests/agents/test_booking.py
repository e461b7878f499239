"""Booking drafts from real phrasing, and one check per booking rule (today: Mon 8 Jun 2026)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from triad.agents.booking import (
    BookingDraft,
    RuleViolation,
    earliest_start,
    extract_booking,
    parse_date,
    parse_time,
    validate_booking,
)
from triad.agents.rules import BusinessRules

MONDAY = date(2026, 6, 8)
NOW = datetime(2026, 6, 8, 14, 10)
COMPLETE = BookingDraft(
    event_date=date(2026, 6, 13),
    start_time=time(18),
    address="1234 Oak Park Blvd, Elk Grove",
    city="Elk Grove",
    adults=20,
    children=5,
    proteins=["Chicken", "Filet mignon"],
)


def _by_rule(found: list[RuleViolation]) -> dict[str, RuleViolation]:
    return {v.rule: v for v in found}


def _check(
    rules: BusinessRules, now: datetime = NOW, **changes: object
) -> dict[str, RuleViolation]:
    return _by_rule(validate_booking(COMPLETE.model_copy(update=changes), rules, now))


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("next Saturday", MONDAY, date(2026, 6, 13)),
        ("saturday works", MONDAY, date(2026, 6, 13)),
        ("next Saturday", date(2026, 6, 13), date(2026, 6, 20)),
        ("this Saturday", date(2026, 6, 13), date(2026, 6, 13)),
        ("June 14", MONDAY, date(2026, 6, 14)),
        ("on the 14th of June", MONDAY, date(2026, 6, 14)),
        ("Jan 5th", MONDAY, date(2027, 1, 5)),
        ("December 5, 2026", MONDAY, date(2026, 12, 5)),
        ("2026-12-05", MONDAY, date(2026, 12, 5)),
        ("6/20", MONDAY, date(2026, 6, 20)),
        ("6/20/27", MONDAY, date(2027, 6, 20)),
        ("tomorrow", MONDAY, date(2026, 6, 9)),
        ("can we do tmrw night?", MONDAY, date(2026, 6, 9)),
        ("on a sunday", MONDAY, None),
        ("may I book?", MONDAY, None),
        ("February 30", MONDAY, None),
    ],
)
def test_parse_date(text: str, today: date, expected: date | None) -> None:
    assert parse_date(text, today) == expected


@pytest.mark.parametrize(
    ("text", "expected", "assumed"),
    [
        ("6pm", time(18), False),
        ("at 6:30 p.m.", time(18, 30), False),
        ("11am", time(11), False),
        ("12 pm", time(12), False),
        ("noon", time(12), False),
        ("18:30", time(18, 30), False),
        ("7:15", time(19, 15), True),
        ("10:30", time(10, 30), False),
        ("for 20 people", None, False),
    ],
)
def test_parse_time(text: str, expected: time | None, assumed: bool) -> None:
    start, assumption = parse_time(text)
    assert start == expected
    assert (assumption is not None) is assumed


def test_extract_a_whole_conversation(rules: BusinessRules) -> None:
    draft = extract_booking(
        [
            "Hi, can we book you for next Saturday at 6pm?",
            "We'll be at 1234 Oak Park Blvd, Elk Grove. 20 adults and 5 kids.",
            "Chicken and filet mignon please, and my son has a shrimp allergy",
        ],
        rules,
        MONDAY,
    )
    assert draft == COMPLETE
    assert validate_booking(draft, rules, NOW) == [
        RuleViolation(
            rule="service_area",
            severity="info",
            message="Elk Grove is in our free 30-mile zone, so there is no travel fee.",
        ),
        RuleViolation(
            rule="chefs",
            severity="info",
            message="A party of 25 guests gets two chefs (one chef serves up to 15 guests).",
        ),
    ]


def test_extract_flags_unavailable_items_and_indoor_cooking(rules: BusinessRules) -> None:
    draft = extract_booking(
        [
            "June 14 at 18:30 in Napa, 12 people, we want wagyu and steak",
            "can you cook in our kitchen?",
        ],
        rules,
        MONDAY,
    )
    assert (draft.event_date, draft.start_time, draft.city) == (
        date(2026, 6, 14),
        time(18, 30),
        "Napa",
    )
    assert (draft.adults, draft.proteins, draft.not_served) == (
        12,
        ["NY strip steak"],
        ["wagyu beef"],
    )
    assert draft.indoors
    assert draft.assumptions == ["All 12 guests were counted as adults."]
    found = _by_rule(validate_booking(draft, rules, NOW))
    assert found["venue"].severity == "blocking"
    assert "we cannot cook indoors" in found["venue"].message
    assert (found["menu"].severity, found["menu"].fields) == ("ask", ["proteins"])
    assert found["menu"].message.startswith("We do not serve wagyu beef;")


def test_missing_fields_are_listed(rules: BusinessRules) -> None:
    draft = extract_booking(["hosting in Davis on a sunday, 7pm start, 20 ppl"], rules, MONDAY)
    found = _by_rule(validate_booking(draft, rules, NOW))
    missing = found["required_fields"]
    assert missing.severity == "missing"
    assert missing.fields == ["date", "address", "children", "proteins"]
    assert missing.message == (
        "To book, we still need the date, address, number of children and protein choices."
    )


def test_lead_time(rules: BusinessRules) -> None:
    # 47 hours and 50 minutes ahead: refused, with the first acceptable start named.
    late = _check(rules, event_date=date(2026, 6, 10), start_time=time(14))["lead_time"]
    assert late.severity == "blocking"
    assert late.message == (
        "Events must be booked at least 48 hours in advance; the earliest start we can accept is "
        "Wednesday, June 10 at 2:30 PM."
    )
    assert "lead_time" not in _check(rules, event_date=date(2026, 6, 10), start_time=time(14, 30))


def test_lead_time_without_a_start_time_uses_the_last_start_of_the_day(
    rules: BusinessRules,
) -> None:
    assert "lead_time" in _check(rules, event_date=date(2026, 6, 9), start_time=None)
    assert "lead_time" not in _check(rules, event_date=date(2026, 6, 10), start_time=None)


def test_past_dates_are_refused(rules: BusinessRules) -> None:
    found = _check(rules, event_date=date(2026, 6, 1))
    assert found["lead_time"].message == "June 1, 2026 has already passed."


def test_earliest_start_respects_the_window(rules: BusinessRules) -> None:
    assert earliest_start(rules, datetime(2026, 6, 8, 19, 10)) == datetime(2026, 6, 10, 19, 30)
    assert earliest_start(rules, datetime(2026, 6, 8, 20, 40)) == datetime(2026, 6, 11, 11, 0)
    assert earliest_start(rules, datetime(2026, 6, 8, 6, 0)) == datetime(2026, 6, 10, 11, 0)
    aware = datetime(2026, 6, 8, 12, 0, 30, tzinfo=UTC)
    assert earliest_start(rules, aware) == datetime(2026, 6, 10, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "refused"),
    [(time(10, 30), True), (time(11), False), (time(20), False), (time(20, 30), True)],
)
def test_start_window(rules: BusinessRules, start: time, refused: bool) -> None:
    found = _check(rules, start_time=start)
    assert ("start_window" in found) is refused
    if refused:
        assert found["start_window"].message.startswith(
            "Events can start between 11:00 AM and 8:00 PM;"
        )


@pytest.mark.parametrize(
    ("city", "severity", "phrase"),
    [
        ("Roseville", "info", "free 30-mile zone"),
        ("Stockton", "info", "about 48 miles from our Sacramento kitchen"),
        ("Oakland", "blocking", "outside our service area"),
        ("Napa", "ask", "staff will confirm the distance"),
    ],
)
def test_service_area(rules: BusinessRules, city: str, severity: str, phrase: str) -> None:
    area = _check(rules, city=city)["service_area"]
    assert area.severity == severity and phrase in area.message
    if city == "Stockton":
        assert area.message.endswith("so the travel fee is about $36.")


def test_an_address_without_a_city_asks_for_it(rules: BusinessRules) -> None:
    area = _check(rules, city=None)["service_area"]
    assert (area.severity, area.fields) == ("ask", ["address"])


@pytest.mark.parametrize(
    ("adults", "chefs"), [(15, "one chef"), (16, "two chefs"), (30, "two chefs")]
)
def test_chef_count(rules: BusinessRules, adults: int, chefs: str) -> None:
    found = _check(rules, adults=adults, children=0)
    assert found["chefs"].message.startswith(f"A party of {adults} guests gets {chefs}")
    assert "party_size" not in found


def test_large_parties_need_approval_not_rejection(rules: BusinessRules) -> None:
    found = validate_booking(COMPLETE.model_copy(update={"adults": 26}), rules, NOW)
    approval = _by_rule(found)["party_size"]
    assert approval.severity == "needs_approval"
    assert "Parties over 30 guests need staff approval" in approval.message
    assert not [v for v in found if v.severity == "blocking"]


def test_small_parties_are_told_about_the_minimum(rules: BusinessRules) -> None:
    found = _check(rules, adults=6, children=2)
    assert found["event_minimum"].message == (
        "The per-guest total is $420.00, so the $550 event minimum applies (before travel fees, "
        "tips and tax)."
    )
    assert "event_minimum" not in _check(rules, adults=10, children=0)


def test_a_booking_needs_a_guest(rules: BusinessRules) -> None:
    assert _check(rules, adults=0, children=0)["party_size"].severity == "blocking"
