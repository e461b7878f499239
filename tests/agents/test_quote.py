"""The quote calculator against hand-computed bills (every expected number worked out by hand)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from triad.agents.quote import QuoteRefusedError, QuoteRequest, compute_quote
from triad.agents.rules import BusinessRules
from triad.errors import InputError


def D(value: str) -> Decimal:
    return Decimal(value)


def test_adults_only_with_tax_gratuity_and_deposit(rules: BusinessRules) -> None:
    q = compute_quote(QuoteRequest(adults=20), rules)
    # 20 x $60 = $1,200; tax 8.25% = $99.00; gratuity 20% of $1,200 = $240 (not added).
    assert (q.food_total, q.subtotal, q.tax, q.total) == (
        D("1200"),
        D("1200"),
        D("99.00"),
        D("1299.00"),
    )
    assert q.suggested_gratuity == D("240.00")
    assert (q.deposit, q.balance_due) == (D("100"), D("1199.00"))
    assert not q.partial and q.minimum_adjustment == 0
    facts = q.facts()
    assert "Subtotal for 20 adults at $60: $1,200.00." in facts
    assert "Tax (8.25% on food and add-ons): $99.00." in facts
    assert "Total: $1,299.00." in facts
    assert "A party of 20 guests gets two chefs." in facts
    assert q.summary().startswith("Subtotal for 20 adults at $60: $1,200.00. ")


def test_children_and_under_4(rules: BusinessRules) -> None:
    q = compute_quote(QuoteRequest(adults=10, children=4, under_4=2), rules)
    # 10 x $60 + 4 x $30 = $720; the two under 4 are free; tax $59.40.
    assert (q.subtotal, q.tax, q.total) == (D("720"), D("59.40"), D("779.40"))
    assert "Subtotal for 4 children (ages 4 to 12) at $30: $120.00." in q.facts()
    assert "2 children under 4: free." in q.facts()
    assert "A party of 16 guests gets two chefs." in q.facts()


def test_event_minimum_raises_the_food_charge(rules: BusinessRules) -> None:
    q = compute_quote(QuoteRequest(adults=8), rules)
    # $480 < $550 -> +$70; tax on $550 = $45.375 -> $45.38 (half up).
    assert (q.food_total, q.minimum_adjustment, q.subtotal) == (D("480"), D("70.00"), D("550.00"))
    assert (q.tax, q.total) == (D("45.38"), D("595.38"))
    assert any("below the $550 event minimum" in f for f in q.facts())


def test_minimum_counts_upgrades_but_not_add_ons(rules: BusinessRules) -> None:
    req = QuoteRequest(adults=8, upgrades={"lobster tail": 2}, addons={"gyoza": 3})
    q = compute_quote(req, rules)
    # food $480 + 2 x $15 = $510 -> minimum +$40 -> $550; gyoza 3 x $10 on top -> $580.
    assert (q.food_total, q.minimum_adjustment, q.addons_total) == (D("510"), D("40.00"), D("30"))
    assert (q.subtotal, q.tax, q.total) == (D("580.00"), D("47.85"), D("627.85"))


def test_minimum_can_be_configured_to_count_add_ons(rules: BusinessRules) -> None:
    minimum = rules.pricing.event_minimum.model_copy(update={"includes_addons": True})
    pricing = rules.pricing.model_copy(update={"event_minimum": minimum})
    req = QuoteRequest(adults=8, upgrades={"lobster tail": 2}, addons={"gyoza": 3})
    q = compute_quote(req, rules.model_copy(update={"pricing": pricing}))
    # $510 food + $30 add-ons = $540 -> +$10 -> $550.
    assert (q.minimum_adjustment, q.subtotal) == (D("10.00"), D("550.00"))


def test_upgrades_and_aliases(rules: BusinessRules) -> None:
    q = compute_quote(QuoteRequest(adults=10, upgrades={"Lobster": 5, "filet": 3}), rules)
    # $600 + 5 x $15 + 3 x $5 = $690; tax $56.925 -> $56.93.
    assert (q.food_total, q.tax, q.total) == (D("690"), D("56.93"), D("746.93"))
    assert "Lobster tail upgrade for 5 plates at +$15: $75.00." in q.facts()
    assert "Filet mignon upgrade for 3 plates at +$5: $15.00." in q.facts()


def test_add_ons_and_half_up_rounding(rules: BusinessRules) -> None:
    q = compute_quote(QuoteRequest(adults=6, children=2, addons={"gyoza": 2}), rules)
    # $420 -> $550 minimum + $20 gyoza = $570; tax $47.025 -> $47.03 (half-even would say .02).
    assert (q.subtotal, q.tax, q.total) == (D("570.00"), D("47.03"), D("617.03"))
    assert "Gyoza (6 pieces), 2 orders at $10: $20.00." in q.facts()


def test_travel_fee_is_not_taxed(rules: BusinessRules) -> None:
    q = compute_quote(QuoteRequest(adults=15, city="stockton"), rules)
    # $900 food, tax $74.25 on food only, Stockton 48 mi -> 18 x $2 = $36 untaxed.
    assert (q.subtotal, q.tax, q.travel_fee, q.total) == (
        D("900"), D("74.25"), D("36.00"), D("1010.25"),
    )  # fmt: skip
    assert "Total before tax, including the travel fee: $936.00." in q.facts()
    assert q.balance_due == D("910.25")


def test_tax_applies_only_to_what_the_rules_name(rules: BusinessRules) -> None:
    tax = rules.pricing.tax.model_copy(update={"applies_to": ["food"]})
    food_only = rules.model_copy(update={"pricing": rules.pricing.model_copy(update={"tax": tax})})
    q = compute_quote(QuoteRequest(adults=10, addons={"gyoza": 4}), food_only)
    # tax 8.25% of $600 only = $49.50; the $40 of gyoza is untaxed.
    assert (q.subtotal, q.tax) == (D("640"), D("49.50"))
    assert "Tax (8.25% on food): $49.50." in q.facts()


@pytest.mark.parametrize(
    ("miles", "fee"), [("12", "0.00"), ("30", "0.00"), ("45", "30.00"), ("60", "60.00"),
                       ("100", "140.00"), ("35.5", "11.00")],
)  # fmt: skip
def test_travel_fee_by_distance(rules: BusinessRules, miles: str, fee: str) -> None:
    q = compute_quote(QuoteRequest(adults=10, distance_miles=D(miles)), rules)
    assert q.travel_fee == D(fee)


def test_free_zone_and_unknown_city(rules: BusinessRules) -> None:
    free = compute_quote(QuoteRequest(adults=10, city="Davis"), rules)
    assert free.travel_fee == 0
    assert "Davis is in the free 30-mile zone, so there is no travel fee." in free.facts()
    napa = compute_quote(QuoteRequest(adults=10, city="Napa"), rules)
    assert napa.travel_fee is None and napa.total == D("649.50")
    assert any("do not know the distance to Napa" in f for f in napa.facts())


@pytest.mark.parametrize(
    ("req", "reason"),
    [
        (QuoteRequest(adults=10, distance_miles=D("100.5")), "more than 100 miles"),
        (QuoteRequest(adults=10, distance_miles=D("140")), "more than 100 miles"),
        (QuoteRequest(adults=10, city="Reno"), "Reno: it is outside our service area"),
        (QuoteRequest(city="San Francisco"), "San Francisco"),
    ],
)
def test_out_of_range_is_refused(rules: BusinessRules, req: QuoteRequest, reason: str) -> None:
    with pytest.raises(QuoteRefusedError, match=reason) as info:
        compute_quote(req, rules)
    assert isinstance(info.value, InputError)


def test_weekday_discount(rules: BusinessRules) -> None:
    q = compute_quote(QuoteRequest(adults=30, weekday="wednesday"), rules)
    # $1,800 - 10% = $1,620; tax $133.65.
    assert (q.discount, q.subtotal, q.tax, q.total) == (
        D("180.00"), D("1620.00"), D("133.65"), D("1753.65"),
    )  # fmt: skip
    assert any("the food total after the discount is $1,620.00" in f for f in q.facts())


def test_weekday_discount_includes_upgrades_not_add_ons(rules: BusinessRules) -> None:
    req = QuoteRequest(
        adults=30, upgrades={"lobster": 10}, addons={"edamame": 4}, event_date=date(2026, 6, 11)
    )
    q = compute_quote(req, rules)  # a Thursday
    # food $1,800 + $150 = $1,950 -> -$195 = $1,755; edamame $20 undiscounted -> $1,775.
    assert (q.discount, q.subtotal) == (D("195.00"), D("1775.00"))


@pytest.mark.parametrize(
    ("req", "discounted"),
    [
        (QuoteRequest(adults=29, under_4=1, weekday="monday"), True),
        (QuoteRequest(adults=29, weekday="tuesday"), False),
        (QuoteRequest(adults=30, weekday="friday"), False),
        (QuoteRequest(adults=40, event_date=date(2026, 6, 13)), False),
        (QuoteRequest(adults=30), False),
    ],
)
def test_weekday_discount_eligibility(
    rules: BusinessRules, req: QuoteRequest, discounted: bool
) -> None:
    assert bool(compute_quote(req, rules).discount) is discounted


def test_discount_comes_before_the_minimum(rules: BusinessRules) -> None:
    q = compute_quote(QuoteRequest(adults=1, under_4=29, weekday="tuesday"), rules)
    # $60 - $6 = $54, then raised to $550: the minimum is never undercut by the discount.
    assert (q.discount, q.minimum_adjustment, q.subtotal) == (D("6.00"), D("496.00"), D("550.00"))


def test_unknown_date_for_a_large_party_mentions_the_discount(rules: BusinessRules) -> None:
    facts = compute_quote(QuoteRequest(adults=35), rules).facts()
    assert "Parties over 30 guests need staff approval." in facts
    assert any("the date decides it" in f for f in facts)


def test_items_without_guests_are_a_partial_quote(rules: BusinessRules) -> None:
    q = compute_quote(QuoteRequest(addons={"gyoza": 3, "edamame": 2}), rules)
    # 3 x $10 + 2 x $5 = $40, tax $3.30; no minimum, deposit or gratuity.
    assert q.partial and (q.subtotal, q.tax, q.total) == (D("40"), D("3.30"), D("43.30"))
    assert q.deposit is None and q.suggested_gratuity is None and q.minimum_adjustment == 0
    assert "Add-ons total: $40.00." in q.facts()


def test_travel_only_quote(rules: BusinessRules) -> None:
    q = compute_quote(QuoteRequest(city="Vacaville"), rules)
    assert (q.travel_fee, q.total) == (D("10.00"), D("10.00"))
    assert q.facts() == [
        "Travel fee for Vacaville (about 35 miles away), 5 miles beyond the free 30 at $2 per "
        "mile, one way: $10.00."
    ]


def test_aliases_of_one_item_are_one_line(rules: BusinessRules) -> None:
    q = compute_quote(QuoteRequest(adults=10, upgrades={"lobster": 2, "Lobster tail": 3}), rules)
    assert [ln.fact for ln in q.lines if ln.kind == "upgrade"] == [
        "Lobster tail upgrade for 5 plates at +$15: $75.00."
    ]


def test_bad_requests(rules: BusinessRules) -> None:
    with pytest.raises(InputError, match="We do not serve wagyu beef"):
        compute_quote(QuoteRequest(adults=10, upgrades={"wagyu beef": 10}), rules)
    with pytest.raises(InputError, match="not one of our add-ons: Yakisoba noodles"):
        compute_quote(QuoteRequest(adults=10, addons={"churros": 1}), rules)
    with pytest.raises(InputError, match="more than the 10 guests"):
        compute_quote(QuoteRequest(adults=10, upgrades={"scallops": 11}), rules)
    with pytest.raises(InputError, match="only 20 protein choices"):
        compute_quote(
            QuoteRequest(adults=10, upgrades={"scallops": 10, "lobster": 10, "filet": 1}), rules
        )
    with pytest.raises(ValidationError, match="not a Monday"):
        QuoteRequest(adults=10, event_date=date(2026, 6, 13), weekday="monday")
    with pytest.raises(ValidationError):
        QuoteRequest(adults=-1)
    with pytest.raises(ValidationError, match="at least 1"):
        QuoteRequest(adults=5, addons={"gyoza": 0})


def test_a_party_of_one_is_one_guest_and_assumptions_come_first(rules: BusinessRules) -> None:
    facts = compute_quote(QuoteRequest(children=1), rules).facts()
    assert "A party of 1 guest gets one chef." in facts
    noted = QuoteRequest(adults=12, assumptions=["All 12 guests were counted as adults."])
    assert compute_quote(noted, rules).facts()[0] == "All 12 guests were counted as adults."
