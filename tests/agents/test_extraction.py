"""Quote requests extracted from real customer phrasing, checked against grounded answers.

The table below copies the pricing and travel questions of the shared domain eval set
(data/eval/domain_dev.jsonl) so this test needs nothing outside the repository: for each one,
every dollar amount of the grounded answer must be among the facts the calculator and the
rules produce, and the wrong amount of the hallucinated answer must not.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from triad.agents.extract import extract_guests, extract_quote_request, find_city, normalize_numbers
from triad.agents.quote import compute_quote
from triad.agents.rules import BusinessRules

# id, question, expected request fields, grounded answer, hallucinated span (or "")
EVAL = [
    ("dom-002", "How much per kid? My son is 11 and my daughter is 3.",
     {"children": 1, "under_4": 1},
     "Children ages 4 to 12 are $30 each and kids under 4 are free, so your 11-year-old would "
     "be $30 and your 3-year-old costs nothing.", "Children ages 4 to 12 are $35 each"),
    ("dom-004", "How much would 3 orders of gyoza and 2 orders of edamame be?",
     {"addons": {"Gyoza": 3, "Edamame": 2}},
     "Gyoza is $10 per order and edamame is $5 per order, so 3 gyoza and 2 edamame come to $40 "
     "before tax.", "come to $45 before tax"),
    ("dom-010", "It's just 8 adults. Any way you can waive the $550 minimum?", {"adults": 8},
     "8 adults would come to $480, so the $550 event minimum applies instead; every event has "
     "that minimum before travel fees, tips and tax.", ""),
    ("dom-014", "We're in Stockton, 15 adults. What's the total before tax including travel?",
     {"adults": 15, "city": "Stockton"},
     "15 adults at $60 is $900, and Stockton (about 48 miles away) has a travel fee of about $36 "
     "(18 miles beyond the free 30 at $2 per mile, one way), so roughly $936 before tax and tip.",
     "so roughly $946 before tax and tip"),
    ("dom-022", "16 adults, 4 kids between 5 and 10, and 2 toddlers (both 2yo). Price? And how "
     "many chefs do we get?", {"adults": 16, "children": 4, "under_4": 2},
     "16 adults ($960) plus 4 kids ($120) comes to $1,080 before tax, and the two toddlers under "
     "4 are free. A party that size gets two chefs.", "comes to $1,140 before tax"),
    ("dom-028", "whats the weekday discount? we're doing a company lunch on a tuesday, like 35 "
     "ppl", {"adults": 35, "weekday": "tuesday"},
     "Weekday events (Monday to Thursday) with 30 or more guests get 10% off the food total, so "
     "a Tuesday lunch for 35 would qualify.", ""),
    ("dom-029", "we're doing lobster tail for all 10 adults, will you throw in scallops for free "
     "since it's a big order?", {"adults": 10, "upgrades": {"Lobster tail": 10}},
     "Lobster tail is +$15 per plate and scallops are +$5 per plate; there's no free-upgrade "
     "deal, so the scallops would be charged at the regular +$5 per plate.", ""),
    ("dom-032", "30 people on a Wednesday, all adults. what's the food total after the weekday "
     "discount?", {"adults": 30, "weekday": "wednesday"},
     "30 adults at $60 is $1,800, and a Wednesday event with 30 guests gets 10% off the food "
     "total, bringing it to $1,620 before tax.", "bringing it to $1,600 before tax"),
    ("dom-033", "We have 6 adults and 2 kids (7 and 9). What would we pay?",
     {"adults": 6, "children": 2},
     "6 adults ($360) plus 2 kids at $30 ($60) comes to $420, which is under our event minimum, "
     "so you'd pay the $550 minimum before any travel fee, tip and tax.", "comes to $480"),
    ("dom-035", "10 adults, and 5 of them want lobster tail. total before tax?",
     {"adults": 10, "upgrades": {"Lobster tail": 5}},
     "10 adults at $60 is $600, and 5 lobster tail upgrades at +$15 each add $75, so the total "
     "before tax is $675.", "the total before tax is $695"),
    ("dom-037", "12 adults and 3 kids (ages 5, 8 and 10), whats the total before tax?",
     {"adults": 12, "children": 3},
     "12 adults at $60 is $720 and 3 kids at $30 is $90, so your total before tax is $810.",
     "your total before tax is $840"),
    ("dom-041", "party of 12 adults, we want yakisoba for everyone. total with tax?",
     {"adults": 12, "addons": {"Yakisoba noodles": 12}},
     "12 adults at $60 is $720, plus yakisoba at $5 per plate ($60) makes $780; with 8.25% tax "
     "($64.35) the total is $844.35 before any travel fee or tip.", "the total is $854.35"),
    ("dom-055", "how much for 20 adults including tax?", {"adults": 20},
     "20 adults at $60 is $1,200, and 8.25% sales tax adds $99.00, so the total is $1,299.00, "
     "not counting any travel fee or tip.", "the total is $1,309.00"),
    ("dom-056", "Were booking 20 adults on a saturday. Any discount for a big group?",
     {"adults": 20, "weekday": "saturday"},
     "Our only discount is 10% off the food total for Monday to Thursday events with 30 or more "
     "guests, so a Saturday party of 20 wouldn't qualify.", ""),
    ("dom-008", "How much is the travel fee to Vacaville?", {"city": "Vacaville"},
     "Vacaville is about 35 miles from our Sacramento kitchen, so the travel fee is about $10: "
     "$2 per mile for the roughly 5 miles beyond the free 30, one way.", ""),
    ("dom-021", "Our venue is about 60 miles from downtown Sacramento. What would travel cost?",
     {"distance_miles": Decimal(60)},
     "If the venue is about 60 miles from our Sacramento kitchen, the first 30 miles are free "
     "and the other 30 are $2 per mile one way, so the travel fee would be about $60.", ""),
    ("dom-047", "We're up in Auburn, do you come up there?", {"city": "Auburn"},
     "Yes, Auburn is in range. It's about 34 miles away, so there's a travel fee of about $8 "
     "($2 per mile beyond the first 30 miles, one way).", ""),
]  # fmt: skip

NOT_QUOTES = [
    "Another hibachi place quoted us $50 a head. Can you price match?",
    "whats the deposit to hold a date",
    "Our final bill is $1,200 total. How much do I owe on the day if I already paid the deposit?",
    "how much extra is lobster tail vs scallops?",
    "It's my mom's 70th!! do you do anything special for birthdays?",
    "Gyoza - how many pieces in an order and how much?",
    "Do you add the tip automatically?",
]


def _amounts(text: str) -> set[Decimal]:
    return {Decimal(a.replace(",", "")) for a in re.findall(r"\$(\d[\d,]*(?:\.\d+)?)", text)}


@pytest.mark.parametrize(("qid", "question", "fields", "grounded", "wrong"), EVAL)
def test_eval_questions_quote_the_grounded_numbers(
    rules: BusinessRules, qid: str, question: str, fields: dict[str, object], grounded: str,
    wrong: str,
) -> None:  # fmt: skip
    req = extract_quote_request(question, rules)
    assert req is not None, qid
    assert req.model_dump(include=set(fields)) == fields
    known = _amounts(" ".join(compute_quote(req, rules).facts() + rules.facts()))
    assert _amounts(grounded) <= known
    assert not _amounts(wrong) or not _amounts(wrong) <= known


@pytest.mark.parametrize("question", NOT_QUOTES)
def test_questions_without_a_quote_give_none(rules: BusinessRules, question: str) -> None:
    assert extract_quote_request(question, rules) is None


@pytest.mark.parametrize(
    ("text", "adults", "children", "under_4"),
    [
        ("20 adults and 5 kids", 20, 5, None),
        ("two kids under 4 and 10 adults", 10, None, 2),
        ("twenty-five adults, thirty one kids", 25, 31, None),
        ("a dozen adults and no kids", 12, 0, None),
        ("12 adults and 3 kids (ages 2, 5 and 8)", 12, 2, 1),
        ("6 adults and 3 kids (ages 1, 2 and 3)", 6, None, 3),
        ("10 grown-ups, 2 babies", 10, None, 2),
        ("20 guests, 4 of them kids", 16, 4, None),
        ("20 adults and a 3 year old", 20, None, 1),
        ("party of 14", 14, None, None),
        ("It's just 4 of us adults. What will we pay for food?", 4, None, None),
        ("there are 6 of us", 6, None, None),
        ("Quote for 12 adults and 4 kids please", 12, 4, None),
        ("8 adults, 2 children and a baby... 3 babies actually", 8, 2, 3),
    ],
)
def test_guest_counts(
    rules: BusinessRules, text: str, adults: int | None, children: int | None,
    under_4: int | None,
) -> None:  # fmt: skip
    found = extract_guests(text, rules)
    assert (found.adults, found.children, found.under_4) == (adults, children, under_4)


def test_people_without_a_breakdown_are_adults_with_a_note(rules: BusinessRules) -> None:
    req = extract_quote_request("12 people", rules)
    assert req is not None and req.adults == 12
    assert req.assumptions == ["All 12 guests were counted as adults."]
    assert "All 12 guests were counted as adults." in compute_quote(req, rules).facts()


def test_the_minimum_is_stated_for_a_small_party_of_adults(rules: BusinessRules) -> None:
    req = extract_quote_request("It's just 4 of us adults. What will we pay for food?", rules)
    assert req is not None and (req.adults, req.children, req.under_4) == (4, 0, 0)
    facts = compute_quote(req, rules).facts()
    assert "Subtotal for 4 adults at $60: $240.00." in facts
    assert (
        "The food total of $240.00 is below the $550 event minimum, so the minimum applies: "
        "$310.00 is added to bring it to $550.00."
    ) in facts


def test_every_guest_class_is_priced(rules: BusinessRules) -> None:
    req = extract_quote_request("Quote for 12 adults and 4 kids please", rules)
    assert req is not None
    quote = compute_quote(req, rules)
    assert quote.food_total == Decimal("840.00")
    assert "Food total: $840.00." in quote.facts()


def test_items_places_and_days(rules: BusinessRules) -> None:
    req = extract_quote_request("lobster for 10 plates, 45 miles away, on a Tuesday", rules)
    assert req is not None
    assert (req.upgrades, req.distance_miles, req.weekday) == (
        {"Lobster tail": 10}, Decimal(45), "tuesday",
    )  # fmt: skip
    req = extract_quote_request("10 adults and 2 kids in Vacaville, yakisoba for everyone", rules)
    assert req is not None and (req.city, req.addons) == ("Vacaville", {"Yakisoba noodles": 12})
    req = extract_quote_request("fifty guests on 2026-12-03", rules)
    assert req is not None and (req.adults, req.event_date) == (50, date(2026, 12, 3))
    assert compute_quote(req, rules).discount == Decimal("300.00")  # a Thursday


def test_later_messages_override_earlier_ones(rules: BusinessRules) -> None:
    req = extract_quote_request(
        ["20 adults in Davis please", "actually make it 25 adults and 3 kids, in Folsom"], rules
    )
    assert req is not None and (req.adults, req.children, req.city) == (25, 3, "Folsom")


def test_city_lookup(rules: BusinessRules) -> None:
    assert find_city("we're in west sacramento", rules) == "West Sacramento"
    assert find_city("60 miles from downtown Sacramento", rules) is None
    assert find_city("Do you cover Lodi? What about Oakland?", rules) == "Lodi"
    assert find_city("a party in Napa on Saturday", rules) == "Napa"
    assert find_city("a party in June", rules) is None


def test_number_words() -> None:
    assert normalize_numbers("Twenty-Five adults and one kid") == "25 adults and 1 kid"
    assert normalize_numbers("everyone and someone") == "everyone and someone"
