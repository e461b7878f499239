"""The rules file loads into typed rules, and every broken file fails naming the file and field."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from triad.agents.facts import money
from triad.agents.rules import RULES_FILE, BusinessRules, load_rules
from triad.errors import InvalidConfigError


def test_demo_rules_load_with_exact_values(rules: BusinessRules) -> None:
    p = rules.pricing
    assert rules.business.name == "Ember & Tide Hibachi"
    assert [p.guests.adult.price, p.guests.child.price, p.guests.infant.price] == [60, 30, 0]
    assert p.event_minimum.amount == 550
    assert p.tax.percent == Decimal("8.25")
    assert str(rules.booking.start_window.earliest) == "11:00:00"
    assert str(rules.office_hours.close) == "21:00:00"
    assert rules.agents["menu"].sources == ["menu.md", "pricing.md"]
    assert "lobster" in rules.agents["menu"].keywords


def test_facts_state_the_exact_numbers(rules: BusinessRules) -> None:
    facts = rules.facts()
    for sentence in (
        "Adults (13 and older) cost $60 per person.",
        "Children (ages 4 to 12) cost $30 per child.",
        "Children under 4 eat free.",
        "Lobster tail is a premium upgrade at +$15 per plate.",
        "Gyoza (6 pieces) is an add-on at $10 per order.",
        "We do not serve wagyu beef.",
        "Sales tax of 8.25% applies to food and add-ons, not to travel fees or gratuity.",
        "Events can start between 11:00 AM and 8:00 PM, seven days a week.",
        "One chef serves up to 15 guests.",
        "Parties of 16 to 30 guests get two chefs.",
        "Parties over 30 guests need staff approval.",
        "San Francisco is outside our service area; we cannot cater events there.",
        "The office answers messages from 9:00 AM to 9:00 PM every day.",
        "Rescheduling is free once if requested at least 72 hours before the event.",
    ):
        assert sentence in facts
    vacaville = next(f for f in facts if f.startswith("Vacaville"))
    assert vacaville.startswith(
        "Vacaville is about 35 miles from the kitchen; the travel fee applies beyond 30 miles "
        "at $2 per mile, one way"
    )
    assert vacaville.endswith("travel fee to Vacaville is about $10.")
    assert any("Weekday events (Monday to Thursday) with 30 or more guests" in f for f in facts)


def test_facts_cover_every_city_and_item(rules: BusinessRules) -> None:
    text = " ".join(rules.facts()).lower()
    for city in rules.known_cities():
        assert city.lower() in text
    for item in rules.menu_items():
        assert item.name.lower() in text


def test_menu_items_and_not_served(rules: BusinessRules) -> None:
    items = {i.name: i for i in rules.menu_items()}
    assert items["Tofu"].category == "standard_protein" and items["Tofu"].price is None
    assert items["Scallops"].category == "premium_upgrade"
    assert items["Scallops"].price == Decimal(5)
    assert (items["Gyoza"].category, items["Gyoza"].unit) == ("addon", "order")
    assert items["spicy mayo"].category == "sauce"
    assert rules.not_served() == [
        "wagyu beef",
        "sushi",
        "sashimi",
        "raw fish",
        "alcohol",
        "dessert",
    ]


@pytest.mark.parametrize(("guests", "chefs"), [(1, 1), (15, 1), (16, 2), (30, 2), (31, None)])
def test_chefs_per_guest_count(rules: BusinessRules, guests: int, chefs: int | None) -> None:
    assert rules.chefs_for(guests) == chefs


def test_city_status_by_zone(rules: BusinessRules) -> None:
    assert rules.city_status("elk grove").zone == "free"
    stockton = rules.city_status("Stockton")
    assert stockton.zone == "fee"
    assert stockton.miles == Decimal(48)
    assert rules.city_status("OAKLAND").name == "Oakland"
    assert rules.city_status("Oakland").zone == "outside"
    assert rules.city_status("Napa").zone == "unknown"


def test_money_formatting() -> None:
    assert money(Decimal(60)) == "$60"
    assert money(Decimal("1200"), cents=True) == "$1,200.00"
    assert money(Decimal("-180"), cents=True) == "-$180.00"
    assert money(Decimal("8.5")) == "$8.50"


def _rewrite(tenant: Path, edit: str, value: object) -> None:
    path = tenant / RULES_FILE
    data = yaml.safe_load(path.read_text())
    node = data
    *parents, leaf = edit.split(".")
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[leaf] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("pricing.guests.adult.price", -5, "pricing.guests.adult.price"),
        ("pricing.tax.percent", 125, "pricing.tax.percent"),
        ("booking.start_window.earliest", 660, "booking.start_window.earliest"),
        ("booking.start_window.latest", "10:00", "booking.start_window"),
        ("office_hours.open", "22:00", "office_hours"),
        (
            "booking.chefs",
            [{"max_guests": 30, "chefs": 2}, {"max_guests": 15, "chefs": 1}],
            "booking.chefs",
        ),
        ("pricing.guests.child.min_age", 5, "pricing.guests"),
        ("pricing.travel.free_miles", 150, "pricing.travel"),
        ("service_area.with_fee_miles", {"Stockton": 148}, "with_fee_miles.Stockton"),
        ("service_area.outside", ["Davis"], "cities listed twice: Davis"),
        ("pricing.surcharge", 5, "pricing.surcharge"),
        ("menu.addons.0.price", "five", "menu.addons.0.price"),
        ("agents.menu.sources", ["menu.md", "wine_list.md"], "agents.menu.sources"),
    ],
)
def test_bad_rules_name_the_file_and_field(
    tenant: Path, field: str, value: object, expected: str
) -> None:
    _rewrite(tenant, field, value)
    with pytest.raises(InvalidConfigError) as info:
        load_rules(tenant)
    message = str(info.value)
    assert str(tenant / RULES_FILE) in message
    assert expected in message


def test_missing_and_unparsable_files(tenant: Path) -> None:
    path = tenant / RULES_FILE
    path.write_text("pricing: [unclosed\n")
    with pytest.raises(InvalidConfigError, match="not valid YAML"):
        load_rules(tenant)
    path.write_text("- just\n- a list\n")
    with pytest.raises(InvalidConfigError, match="mapping at the top level"):
        load_rules(tenant)
    path.unlink()
    with pytest.raises(InvalidConfigError, match=re.escape(f"{path}: business rules file")):
        load_rules(tenant)


def test_rules_are_frozen(rules: BusinessRules) -> None:
    with pytest.raises(ValueError, match="frozen"):
        rules.pricing.deposit.amount = Decimal(0)  # type: ignore[misc]
