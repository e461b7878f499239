"""rules.yaml and the knowledge base state the same business: a drift in either one fails here.

Forward: every price, percentage, time, duration, mileage, age, city and menu item in the rules
appears in the markdown. Backward: every money amount, percentage, clock time and duration in
the markdown, and every listed city and menu item, is in the rules.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from triad.agents.facts import clock, num
from triad.agents.rules import BusinessRules
from triad.settings import PROJECT_ROOT

KB = PROJECT_ROOT / "tenants" / "demo" / "knowledge"


def _kb(name: str) -> str:
    return (KB / name).read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    """The body under one `## heading`, up to the next heading."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"no section '{heading}'"
    return match[1]


def _names(line: str) -> set[str]:
    """City names from a prose list: "A, B (about 4 miles) and C are ..." -> {A, B, C}."""
    line = re.sub(r"\([^)]*\)", "", line.split(" are ")[0])
    return {n.strip(" .") for n in re.split(r",| and ", line) if n.strip(" .")}


def _money_in(text: str) -> set[Decimal]:
    return {Decimal(m.replace(",", "")) for m in re.findall(r"\$(\d[\d,]*(?:\.\d+)?)", text)}


def _rule_money(rules: BusinessRules) -> set[Decimal]:
    p, m = rules.pricing, rules.menu
    amounts = {p.guests.adult.price, p.guests.child.price, p.event_minimum.amount}
    amounts |= {p.deposit.amount, p.travel.per_mile}
    amounts |= {i.price for i in [*m.premium_upgrades, *m.addons]}
    return amounts


def test_every_rule_amount_is_in_pricing_md_and_back(rules: BusinessRules) -> None:
    pricing = _kb("pricing.md")
    assert _rule_money(rules) == _money_in(pricing)
    g = rules.pricing.guests
    assert f"Adults ({g.adult.min_age} and older): ${num(g.adult.price)} per person" in pricing
    assert f"Children (ages {g.child.min_age} to {g.child.max_age}): ${num(g.child.price)}" in (
        pricing
    )
    assert g.infant.price == 0 and f"Children under {g.infant.max_age + 1}: free" in pricing
    assert f"minimum charge of ${num(rules.pricing.event_minimum.amount)}" in pricing
    assert f"A ${num(rules.pricing.deposit.amount)} deposit" in pricing


def test_every_item_price_is_stated_next_to_its_item(rules: BusinessRules) -> None:
    pricing = _kb("pricing.md").lower()
    for up in rules.menu.premium_upgrades:
        assert f"{up.name.lower()}: +${num(up.price)}" in pricing
    for add in rules.menu.addons:
        pieces = f" ({add.pieces} pieces)" if add.pieces else ""
        assert f"{add.name.lower()}{pieces}: ${num(add.price)} per {add.unit}" in pricing


def test_percentages_agree(rules: BusinessRules) -> None:
    pricing = _kb("pricing.md")
    p = rules.pricing
    assert p.weekday_discount is not None
    ours = {p.tax.percent, p.gratuity.suggested_percent, p.weekday_discount.percent}
    assert ours == {Decimal(x) for x in re.findall(r"(\d+(?:\.\d+)?)%", pricing)}
    assert f"Sales tax of {num(p.tax.percent)}% applies to food and add-ons" in pricing
    assert f"A {num(p.gratuity.suggested_percent)}% gratuity is suggested" in pricing
    assert "not added automatically" in pricing and not p.gratuity.automatic
    wd = p.weekday_discount
    assert wd.days == ["monday", "tuesday", "wednesday", "thursday"]
    assert (
        f"(Monday to Thursday) with {wd.min_guests} or more guests receive {num(wd.percent)}% "
        "off the food total" in pricing
    )
    assert "no coupon codes" in pricing and not p.coupon_codes


def test_times_and_durations_agree(rules: BusinessRules) -> None:
    booking = _kb("booking.md")
    bk, ch, office = rules.booking, rules.changes, rules.office_hours
    ours = {bk.start_window.earliest, bk.start_window.latest, office.open, office.close}
    theirs = set(re.findall(r"\d{1,2}:\d{2} [AP]M", booking))
    assert {clock(t) for t in ours} == theirs
    assert f"between {clock(bk.start_window.earliest)} and {clock(bk.start_window.latest)}" in (
        booking
    )
    assert f"from {clock(office.open)} to {clock(office.close)}" in booking
    hours = {bk.lead_time_hours, ch.guest_count_change_hours_before, ch.reschedule_min_hours_before}
    hours |= {int(bk.event_duration_hours)}
    assert hours == {int(h) for h in re.findall(r"(\d+) hours?\b", booking)}
    assert f"at least {bk.lead_time_hours} hours in advance" in booking
    assert f"up to {ch.guest_count_change_hours_before} hours before" in booking
    assert f"at least {ch.reschedule_min_hours_before} hours before" in booking
    assert f"about {num(bk.event_duration_hours)} hours" in booking
    assert f"arrives {bk.chef_arrives_minutes_before} minutes before" in booking
    days = ch.cancellation_full_refund_days_before
    assert f"{days} or more days" in booking and f"less than {days} days" in booking
    assert "seven days a week" in booking and len(bk.days) == 7


def test_party_sizes_agree(rules: BusinessRules) -> None:
    booking = _kb("booking.md")
    first, second = rules.booking.chefs
    assert f"One chef serves up to {first.max_guests} guests" in booking
    assert f"Parties of {first.max_guests + 1} to {second.max_guests} guests get two chefs" in (
        booking
    )
    assert f"Parties over {rules.approval_above} guests need staff approval" in booking
    assert rules.booking.min_guests == 0 and "no minimum head count" in booking


def test_travel_and_cities_agree(rules: BusinessRules) -> None:
    area, pricing = _kb("service_area.md"), _kb("pricing.md")
    tr, sa = rules.pricing.travel, rules.service_area
    assert f"The first {num(tr.free_miles)} miles from our kitchen are free" in pricing
    assert f"${num(tr.per_mile)} per mile, one way" in pricing and tr.one_way
    assert f"more than {num(tr.max_miles)} miles" in pricing
    assert f"kitchen is in {rules.business.kitchen_city}, {rules.business.kitchen_state}" in area
    free = _section(area, f"Cities within the free {num(tr.free_miles)}-mile zone").strip()
    fee = _section(area, f"Cities with a travel fee (beyond {num(tr.free_miles)} miles)").strip()
    outside = _section(area, "Outside the service area").strip()
    assert _names(free) == set(sa.free_zone)
    assert _names(fee) == set(sa.with_fee_miles)
    assert _names(outside) == set(sa.outside)
    for city, miles in sa.with_fee_miles.items():
        assert f"{city} (about {num(miles)} miles)" in fee


def test_menu_agrees(rules: BusinessRules) -> None:
    menu = _kb("menu.md")
    m = rules.menu

    def bullets(heading: str) -> list[str]:
        return re.findall(r"^- (.+)$", _section(menu, heading), re.M)

    standard = bullets("Standard proteins (included in the per-guest price)")
    assert [b.split(" (")[0] for b in standard] == [p.name for p in m.standard_proteins]
    for bullet, protein in zip(standard, m.standard_proteins, strict=True):
        assert protein.note is None or f"({protein.note})" in bullet
    assert bullets("Premium protein upgrades (extra charge per plate, see pricing)") == [
        u.name for u in m.premium_upgrades
    ]
    sides = [re.sub(r",? ?(\d+ pieces)? \(add-on\)$", "", b) for b in bullets("Sides and add-ons")]
    assert sides == [a.name for a in m.addons]
    assert "Gyoza, 6 pieces (add-on)" in menu
    listed = re.findall(r"We do not (?:serve|provide) ([^.]+)\.", _section(menu, "Not on the menu"))
    refused = {x.strip() for part in listed for x in re.split(r",\s*(?:or\s+)?|\s+or\s+", part)}
    assert refused == set(m.not_served)
    for sauce in [*m.sauces.included, *m.sauces.on_request]:
        assert sauce in menu.lower()
    for part in m.plate_includes:
        assert part.split(" (")[0] in menu
    assert "two proteins of the guest's choice" in menu and m.proteins_per_plate == 2


def test_venue_and_provisions_agree(rules: BusinessRules) -> None:
    booking = _kb("booking.md")
    assert "The grill must be used outdoors or under a covered open-air patio" in booking
    assert "We cannot cook indoors" in booking and not rules.venue.indoor_cooking
    assert "moved to another date at no charge" in booking and rules.venue.rain_move_free
    provides = ", ".join(rules.booking.customer_provides[:-1])
    assert f"The customer provides {provides} and {rules.booking.customer_provides[-1]}" in (
        booking
    )
    assert all(x in booking for x in rules.booking.we_provide)
    assert "Rescheduling is free once" in booking and rules.changes.reschedule_free_times == 1


@pytest.mark.parametrize("agent", ["booking", "menu", "pricing"])
def test_agent_sources_are_knowledge_files(rules: BusinessRules, agent: str) -> None:
    sources = rules.agents[agent].sources
    assert sources and all((KB / s).is_file() for s in sources)
    assert rules.business.name in _kb(sources[0])
