"""Claim splitting keeps exact spans; typed facts come out with normalised values."""

from __future__ import annotations

import pytest

from triad.ensemble.critic import extract_facts, split_claims

ANSWERS = [
    "Gyoza is $10 per order and edamame is $5 per order, so 3 gyoza and 2 edamame come to $40.",
    "The latest start time is 8:00 PM; events can start between 11:00 AM and 8:00 PM.",
    "Yes! Stockton is in range, but Oakland is outside our service area.  We cater daily.",
    "Shellfish is cooked separately, and the kitchen is not allergen-free. U.S. law applies.",
    "Arthur's Magazine (1844-1846) was published in Philadelphia.First for Women is newer.",
]


@pytest.mark.parametrize("answer", ANSWERS)
def test_every_claim_is_an_exact_span(answer: str) -> None:
    claims = split_claims(answer)
    assert claims
    for c in claims:
        assert answer[c.start : c.end] == c.text
        assert c.text == c.text.strip()


def test_sentences_are_cut_at_clause_connectors() -> None:
    texts = [c.text for c in split_claims(ANSWERS[0])]
    assert texts == [
        "Gyoza is $10 per order and edamame is $5 per order",
        "3 gyoza and 2 edamame come to $40.",
    ]
    texts = [c.text for c in split_claims(ANSWERS[1])]
    assert texts == [
        "The latest start time is 8:00 PM",
        "events can start between 11:00 AM and 8:00 PM.",
    ]


def test_short_tails_and_abbreviations_do_not_split() -> None:
    texts = [c.text for c in split_claims(ANSWERS[3])]
    assert texts == [
        "Shellfish is cooked separately",
        "the kitchen is not allergen-free.",
        "U.S. law applies.",
    ]
    glued = [c.text for c in split_claims(ANSWERS[4])]
    assert glued[1] == "First for Women is newer."


def _one(text: str, kind: str) -> tuple[float, float]:
    found = [f for f in extract_facts(text) if f.kind == kind]
    assert len(found) == 1, found
    return found[0].value, found[0].amount


def test_money_is_normalised_and_rates_are_marked() -> None:
    assert _one("the total is $1,299.00 today", "money")[0] == 1299.0
    assert _one("that costs 45 dollars", "money")[0] == 45.0
    (fact,) = extract_facts("lobster tail is +$15 per plate")
    assert fact.rate and fact.value == 15.0
    (total,) = extract_facts("so you'd pay $480")
    assert not total.rate


def test_times_percentages_and_days() -> None:
    assert _one("we start at 11 AM", "time")[0] == 11 * 60
    assert _one("the latest start is 8:00 PM", "time")[0] == 20 * 60
    assert _one("dinner at 18:30", "time")[0] == 18 * 60 + 30
    assert _one("party starts at 6pm", "time")[0] == 18 * 60
    assert _one("tax is 8.25% on food", "percent")[0] == 8.25
    assert _one("take 10 percent off", "percent")[0] == 10.0
    days = [
        f.value for f in extract_facts("Monday to Thursday, and Sundays too") if f.kind == "day"
    ]
    assert days == [0.0, 3.0, 6.0]


def test_numbers_durations_and_distances() -> None:
    assert _one("a party of twenty-five guests", "number")[1] == 25.0
    assert _one("parties get two chefs", "number")[1] == 2.0
    assert _one("the 32nd attorney general", "number")[1] == 32.0
    hours, days = _one("book 48 hours ahead", "duration"), _one("or 2 days ahead", "duration")
    assert hours[0] == days[0] == 48 * 60
    assert _one("it is about 35 miles away", "distance")[1] == 35.0
    assert _one("our free 30-mile zone", "distance")[1] == 30.0
    assert _one("my 11-year-old son", "number")[1] == 11.0
