"""A deterministic quote calculator, so no model ever does the arithmetic on a customer's bill.

Order of operations (money is `Decimal`, each line rounded to cents with ROUND_HALF_UP):

1. food total  = guest prices (adults, children, under-4 at their price: free here) + premium
                 upgrades (they are food, priced per plate);
2. discount    = the weekday percentage off the food total when the event falls on a discount
                 day and the party (every guest, under-4 included) is large enough;
3. food charge = food total - discount, raised to the event minimum when below it. The
                 knowledge base calls the minimum a charge "before travel fees, tips and tax"
                 that applies when the "per-guest total" is below it; we read the per-guest
                 total as the food total, so the minimum is applied after the discount (nobody
                 pays less than the minimum for food) and add-ons are charged on top of it,
                 unless the rules set `event_minimum.includes_addons`;
4. subtotal    = food charge + add-ons; sales tax is charged on the parts `tax.applies_to` names
                 (here food and add-ons, i.e. the whole subtotal);
5. travel fee  = per mile beyond the free miles, one way, never taxed; refused past max miles
                 or for a city outside the service area;
6. total       = subtotal + tax + travel fee. The suggested gratuity is a percentage of the
                 subtotal, shown and never added; the deposit is credited toward the total.

A request without guests (only add-ons, upgrades or travel) is a partial quote: item prices
and tax, no minimum, gratuity or deposit.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from triad.agents.facts import join, money, num, word
from triad.agents.rules import WEEKDAYS, BusinessRules, Upgrade, Weekday
from triad.errors import InputError

ZERO = Decimal("0.00")
LineKind = Literal["guests", "upgrade", "discount", "minimum", "addon", "travel"]
_Item = TypeVar("_Item", bound=Upgrade)


def cents(amount: Decimal) -> Decimal:
    """Round money to cents the way a cash register does."""
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class QuoteRefusedError(InputError):
    """The event cannot be quoted at all: it is too far or outside the service area."""


class QuoteRequest(BaseModel):
    """What a customer asked to be priced; items are keyed by menu name or alias."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    adults: int = Field(default=0, ge=0)
    children: int = Field(default=0, ge=0)
    under_4: int = Field(default=0, ge=0)
    upgrades: dict[str, int] = Field(default_factory=dict)
    addons: dict[str, int] = Field(default_factory=dict)
    city: str | None = None
    distance_miles: Decimal | None = Field(default=None, ge=0)
    event_date: date | None = None
    weekday: Weekday | None = None
    assumptions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if any(n < 1 for n in [*self.upgrades.values(), *self.addons.values()]):
            raise ValueError("upgrade plates and add-on counts must be at least 1")
        if self.event_date and self.weekday and self.day_of(self.event_date) != self.weekday:
            raise ValueError(f"{self.event_date} is not a {self.weekday.title()}")
        return self

    @staticmethod
    def day_of(day: date) -> Weekday:
        return WEEKDAYS[day.weekday()]

    @property
    def guests(self) -> int:
        return self.adults + self.children + self.under_4

    @property
    def day(self) -> Weekday | None:
        return self.day_of(self.event_date) if self.event_date else self.weekday


class QuoteLine(BaseModel):
    """One priced line; the discount line carries a negative amount."""

    model_config = ConfigDict(frozen=True)

    kind: LineKind
    amount: Decimal
    fact: str


class Quote(BaseModel):
    """A computed quote: every number a reply may state, with the sentence that states it."""

    model_config = ConfigDict(frozen=True)

    partial: bool
    lines: list[QuoteLine]
    food_total: Decimal
    discount: Decimal
    minimum_adjustment: Decimal
    addons_total: Decimal
    subtotal: Decimal
    tax: Decimal
    travel_fee: Decimal | None
    total: Decimal
    suggested_gratuity: Decimal | None
    deposit: Decimal | None
    balance_due: Decimal | None
    statements: list[str]

    def facts(self) -> list[str]:
        """The quote as short sentences with exact amounts, for the reply and the critic."""
        return list(self.statements)

    def summary(self) -> str:
        """The quote as one paragraph a customer can read."""
        return " ".join(self.statements)


def _resolve(
    items: list[_Item], wanted: dict[str, int], what: str, rules: BusinessRules
) -> list[tuple[_Item, int]]:
    """Menu items for the requested names or aliases, counts of the same item added up."""
    counts: dict[str, int] = {}
    for key, n in wanted.items():
        low = key.strip().lower()
        match = next(
            (i for i in items if low in {i.name.lower(), *map(str.lower, i.aliases)}), None
        )
        if match is None and low in {x.lower() for x in rules.not_served()}:
            raise InputError(f"We do not serve {low}.")
        if match is None:
            raise InputError(f"'{key}' is not one of our {what}: {join([i.name for i in items])}.")
        counts[match.name] = counts.get(match.name, 0) + n
    return [(i, counts[i.name]) for i in items if i.name in counts]


def _n(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def _line(kind: LineKind, amount: Decimal, text: str) -> QuoteLine:
    return QuoteLine(kind=kind, amount=amount, fact=f"{text}: {money(amount, cents=True)}.")


def _food_lines(req: QuoteRequest, rules: BusinessRules) -> list[QuoteLine]:
    g, lines = rules.pricing.guests, []
    groups = [
        (req.adults, g.adult.price, _n(req.adults, "adult")),
        (
            req.children,
            g.child.price,
            f"{_n(req.children, 'child', 'children')} (ages "
            f"{g.child.min_age} to {g.child.max_age})",
        ),
        (
            req.under_4,
            g.infant.price,
            f"{_n(req.under_4, 'child', 'children')} under {g.infant.max_age + 1}",
        ),
    ]
    for n, price, label in groups:
        if n and price:
            lines.append(
                _line("guests", cents(n * price), f"Subtotal for {label} at {money(price)}")
            )
        elif n:
            lines.append(QuoteLine(kind="guests", amount=ZERO, fact=f"{label.capitalize()}: free."))
    upgrades = _resolve(list(rules.menu.premium_upgrades), req.upgrades, "premium upgrades", rules)
    plates = req.guests * rules.menu.proteins_per_plate
    if req.guests and sum(n for _, n in upgrades) > plates:
        raise InputError(f"{req.guests} guests have only {plates} protein choices to upgrade.")
    for up, n in upgrades:
        if req.guests and n > req.guests:
            raise InputError(f"{n} {up.name} upgrades is more than the {req.guests} guests.")
        label = f"{up.name} upgrade for {_n(n, 'plate')} at +{money(up.price)}"
        lines.append(_line("upgrade", cents(n * up.price), label))
    return lines


def _addon_lines(req: QuoteRequest, rules: BusinessRules) -> list[QuoteLine]:
    lines = []
    for add, n in _resolve(list(rules.menu.addons), req.addons, "add-ons", rules):
        pieces = f" ({add.pieces} pieces)" if add.pieces else ""
        label = f"{add.name}{pieces}, {_n(n, add.unit)} at {money(add.price)}"
        lines.append(_line("addon", cents(n * add.price), label))
    return lines


def _discount(req: QuoteRequest, rules: BusinessRules, food_total: Decimal) -> list[QuoteLine]:
    wd = rules.pricing.weekday_discount
    if not wd or req.guests < wd.min_guests or req.day not in wd.days:
        return []
    amount = cents(food_total * wd.percent / 100)
    text = (
        f"Weekday discount ({num(wd.percent)}% off the food total for a {str(req.day).title()} "
        f"event with {req.guests} guests): -{money(amount, cents=True)}; the food total after "
        f"the discount is {money(food_total - amount, cents=True)}."
    )
    return [QuoteLine(kind="discount", amount=-amount, fact=text)]


def _minimum(req: QuoteRequest, rules: BusinessRules, base: Decimal) -> list[QuoteLine]:
    floor = rules.pricing.event_minimum
    if not req.guests or base >= floor.amount:
        return []
    what = "food and add-ons total" if floor.includes_addons else "food total"
    amount = cents(floor.amount - base)
    text = (
        f"The {what} of {money(base, cents=True)} is below the {money(floor.amount)} event "
        f"minimum, so the minimum applies: {money(amount, cents=True)} is added to bring it to "
        f"{money(floor.amount, cents=True)}."
    )
    return [QuoteLine(kind="minimum", amount=amount, fact=text)]


def _travel(req: QuoteRequest, rules: BusinessRules) -> tuple[Decimal | None, list[str]]:
    tr, free = rules.pricing.travel, num(rules.pricing.travel.free_miles)
    status = rules.city_status(req.city) if req.city else None
    if status and status.zone == "outside":
        raise QuoteRefusedError(
            f"We cannot cater events in {status.name}: it is outside our service area."
        )
    miles = req.distance_miles
    if miles is None and status is not None:
        miles = status.miles
    if miles is not None and miles > tr.max_miles:
        raise QuoteRefusedError(
            f"We do not travel more than {num(tr.max_miles)} miles, and {num(miles)} miles is "
            "beyond that."
        )
    if miles is None:
        if status and status.zone == "free":
            return ZERO, [
                f"{status.name} is in the free {free}-mile zone, so there is no travel fee."
            ]
        where = f"the distance to {status.name}" if status else "the event location"
        return None, [f"The travel fee is not included because we do not know {where} yet."]
    fee = cents(tr.fee(miles))
    place = f"{status.name} (about {num(miles)} miles away)" if status else f"{num(miles)} miles"
    way = "one way" if tr.one_way else "round trip"
    return fee, [
        f"Travel fee for {place}, {num(max(ZERO, miles - tr.free_miles))} miles beyond the free "
        f"{free} at {money(tr.per_mile)} per mile, {way}: {money(fee, cents=True)}."
    ]


def _sum(lines: list[QuoteLine]) -> Decimal:
    return sum((ln.amount for ln in lines), ZERO)


def compute_quote(req: QuoteRequest, rules: BusinessRules) -> Quote:
    """Price a request exactly by the tenant's rules (the module docstring gives the order)."""
    p = rules.pricing
    food, addons = _food_lines(req, rules), _addon_lines(req, rules)
    food_total, addons_total = _sum(food), _sum(addons)
    discount = _discount(req, rules, food_total)
    base = food_total + _sum(discount) + (addons_total if p.event_minimum.includes_addons else 0)
    minimum = _minimum(req, rules, base)
    lines = [*food, *discount, *minimum, *addons]
    subtotal = _sum(lines)
    taxed = {"food": subtotal - addons_total, "addons": addons_total}
    tax = cents(sum((taxed[k] for k in p.tax.applies_to), ZERO) * p.tax.percent / 100)
    on = join(["food" if k == "food" else "add-ons" for k in p.tax.applies_to])
    located = req.city is not None or req.distance_miles is not None
    travel_fee, travel_facts = _travel(req, rules) if located or req.guests else (None, [])
    if travel_fee:
        lines.append(QuoteLine(kind="travel", amount=travel_fee, fact=travel_facts[0]))
    total = subtotal + tax + (travel_fee or ZERO)

    said = [ln.fact for ln in food]
    if len(food) > 1 and req.guests:
        said.append(f"Food total: {money(food_total, cents=True)}.")
    said += [ln.fact for ln in [*discount, *minimum, *addons]]
    if len(addons) > 1:
        said.append(f"Add-ons total: {money(addons_total, cents=True)}.")
    if food or addons:
        said.append(f"Subtotal before tax: {money(subtotal, cents=True)}.")
        said.append(f"Tax ({num(p.tax.percent)}% on {on}): {money(tax, cents=True)}.")
    said += travel_facts
    if travel_fee and (food or addons):
        with_travel = money(subtotal + travel_fee, cents=True)
        said.append(f"Total before tax, including the travel fee: {with_travel}.")
    gratuity = deposit = balance = None
    if req.guests:
        gratuity = cents(subtotal * p.gratuity.suggested_percent / 100)
        deposit, balance = p.deposit.amount, total - p.deposit.amount
        said += [
            f"Total: {money(total, cents=True)}.",
            f"Suggested gratuity ({num(p.gratuity.suggested_percent)}% of the subtotal, not "
            f"included in the total): {money(gratuity, cents=True)}.",
            f"Deposit: {money(deposit, cents=True)}, credited toward the total; balance due "
            f"on the day of the event: {money(balance, cents=True)}.",
            _chefs(req.guests, rules),
        ]
        if (wd := p.weekday_discount) and req.guests >= wd.min_guests and req.day is None:
            said.append(
                f"Events on {join([d.title() for d in wd.days], 'or')} with {wd.min_guests} or "
                f"more guests get {num(wd.percent)}% off the food total; the date decides it."
            )
    elif food or addons:
        said.append(f"Total for these items: {money(total, cents=True)}.")
        said.append(
            f"The {money(p.event_minimum.amount)} event minimum applies once the guest count "
            "is known."
        )
    return Quote(
        partial=not req.guests,
        lines=lines,
        food_total=food_total,
        discount=-_sum(discount),
        minimum_adjustment=_sum(minimum),
        addons_total=addons_total,
        subtotal=subtotal,
        tax=tax,
        travel_fee=travel_fee,
        total=total,
        suggested_gratuity=gratuity,
        deposit=deposit,
        balance_due=balance,
        statements=req.assumptions + said,
    )


def _chefs(guests: int, rules: BusinessRules) -> str:
    chefs = rules.chefs_for(guests)
    if chefs is None:
        return f"Parties over {rules.approval_above} guests need staff approval."
    return f"A party of {_n(guests, 'guest')} gets {word(chefs)} chef{'s' if chefs > 1 else ''}."
