"""A tenant's business rules, loaded from one structured file and validated once.

The knowledge base is prose for retrieval; `rules.yaml` is the same truth as data, so the quote
calculator and the booking validator compute with it and the critic checks claims against
`BusinessRules.facts()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal, Self, get_args

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from triad.config_files import TimeZoneName
from triad.errors import InvalidConfigError

RULES_FILE = "rules.yaml"
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)
Zone = Literal["free", "fee", "outside", "unknown"]
Category = Literal["included", "standard_protein", "premium_upgrade", "addon", "sauce"]


def _hhmm(value: object) -> time:
    """Times must be quoted "HH:MM" strings, because YAML reads an unquoted 11:00 as 660."""
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise ValueError(f'expected a quoted "HH:MM" string, got {value!r}')
    return time.fromisoformat(value)


Money = Annotated[Decimal, Field(ge=0)]
Percent = Annotated[Decimal, Field(ge=0, le=100)]
Miles = Annotated[Decimal, Field(ge=0)]
Count = Annotated[int, Field(ge=0)]
Clock = Annotated[time, BeforeValidator(_hhmm)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Business(_Model):
    name: str
    description: str
    kitchen_city: str
    kitchen_state: str
    timezone: TimeZoneName = Field(
        description="the business's clock: 'today' and lead times in booking rules use it"
    )


class AdultPrice(_Model):
    min_age: Count
    price: Money


class ChildPrice(_Model):
    min_age: Count
    max_age: Count
    price: Money


class InfantPrice(_Model):
    max_age: Count
    price: Money


class GuestPrices(_Model):
    adult: AdultPrice
    child: ChildPrice
    infant: InfantPrice

    @model_validator(mode="after")
    def _ages_contiguous(self) -> Self:
        if not self.infant.max_age + 1 == self.child.min_age <= self.child.max_age:
            raise ValueError("child.min_age must be infant.max_age + 1 and <= child.max_age")
        if self.child.max_age + 1 != self.adult.min_age:
            raise ValueError("adult.min_age must be child.max_age + 1")
        return self


class EventMinimum(_Model):
    amount: Money
    includes_addons: bool = False


class Tax(_Model):
    percent: Percent
    applies_to: list[Literal["food", "addons"]] = Field(min_length=1)


class Gratuity(_Model):
    suggested_percent: Percent
    automatic: bool


class Deposit(_Model):
    amount: Money
    credited_to_bill: bool


class Payment(_Model):
    balance_due: str
    methods: list[str] = Field(min_length=1)


class WeekdayDiscount(_Model):
    days: list[Weekday] = Field(min_length=1)
    min_guests: Annotated[int, Field(ge=1)]
    percent: Percent


class Travel(_Model):
    free_miles: Miles
    per_mile: Money
    one_way: bool
    max_miles: Miles

    @model_validator(mode="after")
    def _free_below_max(self) -> Self:
        if self.free_miles >= self.max_miles:
            raise ValueError("free_miles must be less than max_miles")
        return self

    def fee(self, miles: Decimal) -> Decimal:
        """The travel fee for a one-way distance already known to be within max_miles."""
        return max(Decimal(0), miles - self.free_miles) * self.per_mile


class Pricing(_Model):
    guests: GuestPrices
    event_minimum: EventMinimum
    tax: Tax
    gratuity: Gratuity
    deposit: Deposit
    payment: Payment
    coupon_codes: bool
    weekday_discount: WeekdayDiscount | None = None
    travel: Travel


class MenuEntry(_Model):
    name: str
    note: str | None = None
    aliases: list[str] = Field(default_factory=list)


class Upgrade(MenuEntry):
    price: Money


class AddOn(Upgrade):
    unit: Literal["plate", "order"]
    pieces: Annotated[int, Field(ge=1)] | None = None


class Sauces(_Model):
    included: list[str]
    on_request: list[str] = Field(default_factory=list)


class Menu(_Model):
    plate_includes: list[str]
    proteins_per_plate: Annotated[int, Field(ge=1)]
    standard_proteins: list[MenuEntry] = Field(min_length=1)
    premium_upgrades: list[Upgrade] = Field(default_factory=list)
    addons: list[AddOn] = Field(default_factory=list)
    sauces: Sauces
    not_served: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _aliases_unique(self) -> Self:
        seen: dict[str, str] = {}
        for item in [*self.standard_proteins, *self.premium_upgrades, *self.addons]:
            for alias in {item.name.lower(), *(a.lower() for a in item.aliases)}:
                if seen.setdefault(alias, item.name) != item.name:
                    raise ValueError(f"alias '{alias}' names both {seen[alias]} and {item.name}")
        return self


class StartWindow(_Model):
    earliest: Clock
    latest: Clock

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.earliest >= self.latest:
            raise ValueError("earliest must be before latest")
        return self


class ChefTier(_Model):
    max_guests: Annotated[int, Field(ge=1)]
    chefs: Annotated[int, Field(ge=1)]


BookingField = Literal["date", "start_time", "address", "adults", "children", "proteins"]


class Booking(_Model):
    required_fields: list[BookingField]
    lead_time_hours: Count
    start_window: StartWindow
    days: list[Weekday] = Field(min_length=1)
    chef_arrives_minutes_before: Count
    event_duration_hours: Annotated[Decimal, Field(gt=0)]
    min_guests: Count
    chefs: list[ChefTier] = Field(min_length=1)
    customer_provides: list[str]
    we_provide: list[str]

    @field_validator("chefs")
    @classmethod
    def _tiers_ascending(cls, tiers: list[ChefTier]) -> list[ChefTier]:
        for low, high in pairwise(tiers):
            if high.max_guests <= low.max_guests or high.chefs < low.chefs:
                raise ValueError("chef tiers must ascend by max_guests and never lose chefs")
        return tiers


class Changes(_Model):
    guest_count_change_hours_before: Count
    cancellation_full_refund_days_before: Count
    reschedule_free_times: Count
    reschedule_min_hours_before: Count


class Venue(_Model):
    allowed: list[str] = Field(min_length=1)
    indoor_cooking: bool
    rain_move_free: bool


class OfficeHours(_Model):
    open: Clock
    close: Clock

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.open >= self.close:
            raise ValueError("open must be before close")
        return self


class ServiceArea(_Model):
    free_zone: list[str]
    with_fee_miles: dict[str, Miles]
    outside: list[str]

    @model_validator(mode="after")
    def _disjoint(self) -> Self:
        names = [*self.free_zone, *self.with_fee_miles, *self.outside]
        lowered = [n.lower() for n in names]
        dupes = sorted({n for n in names if lowered.count(n.lower()) > 1})
        if dupes:
            raise ValueError(f"cities listed twice: {', '.join(dupes)}")
        return self


class AgentSpec(_Model):
    sources: list[str] = Field(min_length=1)
    keywords: list[str] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CityStatus:
    """Where a city stands in the service area; miles is known only for cities with a fee."""

    name: str
    zone: Zone
    miles: Decimal | None = None


@dataclass(frozen=True, slots=True)
class MenuItem:
    """One thing on the menu, with its category and, when it costs extra, its price."""

    name: str
    category: Category
    price: Decimal | None = None
    unit: str | None = None


class BusinessRules(_Model):
    """Everything a tenant's agents compute with; the one structured truth besides the KB."""

    business: Business
    pricing: Pricing
    menu: Menu
    booking: Booking
    changes: Changes
    venue: Venue
    office_hours: OfficeHours
    service_area: ServiceArea
    agents: dict[str, AgentSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _fee_cities_in_range(self) -> Self:
        travel = self.pricing.travel
        for city, miles in self.service_area.with_fee_miles.items():
            if not travel.free_miles < miles <= travel.max_miles:
                raise ValueError(
                    f"service_area.with_fee_miles.{city}: {miles} miles is not between "
                    f"free_miles ({travel.free_miles}) and max_miles ({travel.max_miles})"
                )
        return self

    def chefs_for(self, guests: int) -> int | None:
        """How many chefs a party gets, or None when it is beyond the tiers (staff decide)."""
        return next((t.chefs for t in self.booking.chefs if guests <= t.max_guests), None)

    @property
    def approval_above(self) -> int:
        """Parties larger than the last chef tier need staff approval."""
        return self.booking.chefs[-1].max_guests

    def city_status(self, city: str) -> CityStatus:
        """Look a city up in the service area, case-insensitively."""
        area, key = self.service_area, city.strip().lower()
        for name in area.free_zone:
            if name.lower() == key:
                return CityStatus(name, "free")
        for name, miles in area.with_fee_miles.items():
            if name.lower() == key:
                return CityStatus(name, "fee", miles)
        for name in area.outside:
            if name.lower() == key:
                return CityStatus(name, "outside")
        return CityStatus(city.strip(), "unknown")

    def known_cities(self) -> list[str]:
        """Every city the service area names, in any zone."""
        area = self.service_area
        return [*area.free_zone, *area.with_fee_miles, *area.outside]

    def menu_items(self) -> list[MenuItem]:
        """Every item that exists, so the critic can tell a real item from an invented one."""
        menu = self.menu
        items = [MenuItem(name, "included") for name in menu.plate_includes]
        items += [MenuItem(p.name, "standard_protein") for p in menu.standard_proteins]
        items += [
            MenuItem(u.name, "premium_upgrade", u.price, "plate") for u in menu.premium_upgrades
        ]
        items += [MenuItem(a.name, "addon", a.price, a.unit) for a in menu.addons]
        sauces = [*menu.sauces.included, *menu.sauces.on_request]
        return items + [MenuItem(s, "sauce") for s in sauces]

    def not_served(self) -> list[str]:
        """Items customers ask for that the business does not offer."""
        return list(self.menu.not_served)

    def facts(self) -> list[str]:
        """Every rule as a short sentence with its exact numbers, for the grounded critic."""
        from triad.agents.facts import rule_facts  # facts imports this module

        return rule_facts(self)


def load_rules(tenant_dir: Path) -> BusinessRules:
    """Read and validate `<tenant_dir>/rules.yaml`; every problem names the file and the field."""
    path = tenant_dir / RULES_FILE
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidConfigError(f"{path}: business rules file not found") from None
    except yaml.YAMLError as exc:
        raise InvalidConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidConfigError(f"{path}: expected a mapping at the top level")
    try:
        rules = BusinessRules.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidConfigError(f"{path}: {problems}") from None
    knowledge = tenant_dir / "knowledge"
    for agent, spec in rules.agents.items():
        for source in spec.sources:
            if not (knowledge / source).is_file():
                raise InvalidConfigError(
                    f"{path}: agents.{agent}.sources: '{source}' is not a file in {knowledge}"
                )
    return rules
