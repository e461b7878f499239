"""One wording of the rules and their numbers, shared by the critic, quotes and booking replies."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import TYPE_CHECKING

from triad.agents.rules import WEEKDAYS

if TYPE_CHECKING:
    from triad.agents.rules import BusinessRules, Weekday

_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
_FIELD_LABELS = {
    "date": "date",
    "start_time": "start time",
    "address": "address",
    "adults": "number of adults",
    "children": "number of children",
    "proteins": "protein choices",
}


def money(amount: Decimal, *, cents: bool = False) -> str:
    """Dollars as customers read them: "$60" for rule prices, "$1,200.00" for quote lines."""
    q = amount.quantize(Decimal("0.01"))
    sign = "-" if q < 0 else ""
    body = f"{abs(q):,.0f}" if not cents and q == q.to_integral_value() else f"{abs(q):,.2f}"
    return f"{sign}${body}"


def num(value: Decimal | int) -> str:
    """A number without trailing zeros: 8.25, 30, 2."""
    return f"{Decimal(value).normalize():f}"


def clock(t: time) -> str:
    """A time of day as "8:00 PM"."""
    return f"{t.hour % 12 or 12}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"


def word(n: int) -> str:
    """Small counts as words ("two chefs"), larger ones as digits."""
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)


def join(items: list[str], last: str = "and") -> str:
    """An English list: "a, b and c"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def _is(name: str) -> str:
    return "are" if name.endswith("s") else "is"


def _days(days: list[Weekday]) -> str:
    idx = sorted(WEEKDAYS.index(d) for d in days)
    if len(idx) == 7:
        return "seven days a week"
    if idx == list(range(idx[0], idx[-1] + 1)) and len(idx) > 2:
        return f"{WEEKDAYS[idx[0]].title()} to {WEEKDAYS[idx[-1]].title()}"
    return join([WEEKDAYS[i].title() for i in idx])


def rule_facts(r: BusinessRules) -> list[str]:
    """Every rule as a short sentence with its exact numbers, for the grounded critic."""
    b, p, m, bk, ch = r.business, r.pricing, r.menu, r.booking, r.changes
    g, tr, minimum = p.guests, p.travel, money(p.event_minimum.amount)
    infant_price = "eat free" if g.infant.price == 0 else f"cost {money(g.infant.price)} each"
    facts = [
        f"{b.name} is {b.description}.",
        f"Our kitchen is in {b.kitchen_city}, {b.kitchen_state}.",
        f"Adults ({g.adult.min_age} and older) cost {money(g.adult.price)} per person.",
        f"Children (ages {g.child.min_age} to {g.child.max_age}) cost "
        f"{money(g.child.price)} per child.",
        f"Children under {g.infant.max_age + 1} {infant_price}.",
        f"Every event has a minimum charge of {minimum} before travel fees, tips and tax; "
        f"parties whose per-guest total is below {minimum} pay the {minimum} minimum.",
        "The event minimum applies to the food total (guest prices and premium upgrades)"
        + ("." if p.event_minimum.includes_addons else "; add-ons are charged on top of it."),
        "Every adult and child plate includes "
        + join([*m.plate_includes, f"{word(m.proteins_per_plate)} proteins of the guest's choice"])
        + ".",
    ]
    for prot in m.standard_proteins:
        note = f" ({prot.note})" if prot.note else ""
        facts.append(f"{prot.name}{note} is a standard protein included in the per-guest price.")
    for up in m.premium_upgrades:
        facts.append(f"{up.name} {_is(up.name)} a premium upgrade at +{money(up.price)} per plate.")
    for add in m.addons:
        pieces = f" ({add.pieces} pieces)" if add.pieces else ""
        facts.append(
            f"{add.name}{pieces} {_is(add.name)} an add-on at {money(add.price)} per {add.unit}."
        )
    facts.append(f"Every table gets {join(m.sauces.included)}.")
    if m.sauces.on_request:
        facts.append(f"{join(m.sauces.on_request).capitalize()} is available on request.")
    facts += [f"We do not serve {item}." for item in m.not_served]
    taxed = join(["food" if t == "food" else "add-ons" for t in p.tax.applies_to])
    gratuity = p.gratuity.suggested_percent
    facts += [
        f"Sales tax of {num(p.tax.percent)}% applies to {taxed}, not to travel fees or gratuity.",
        f"A {num(gratuity)}% gratuity is suggested but not required and is not added automatically."
        if not p.gratuity.automatic
        else f"A {num(gratuity)}% gratuity is added automatically.",
        f"A {money(p.deposit.amount)} deposit secures the date"
        + ("; it is credited toward the final bill." if p.deposit.credited_to_bill else "."),
        f"The balance is paid {p.payment.balance_due}, by {join(p.payment.methods, 'or')}.",
    ]
    if not p.coupon_codes:
        facts.append("There are no coupon codes.")
    if wd := p.weekday_discount:
        facts.append(
            f"Weekday events ({_days(wd.days)}) with {wd.min_guests} or more guests receive "
            f"{num(wd.percent)}% off the food total; it is the only discount we offer."
        )
    free, per_mile = num(tr.free_miles), money(tr.per_mile)
    way = ", one way" if tr.one_way else ", round trip"
    facts += [
        f"The first {free} miles from our kitchen are free; beyond {free} miles we charge "
        f"{per_mile} per mile{way}.",
        f"We do not travel more than {num(tr.max_miles)} miles.",
    ]
    facts += [
        f"{c} is in the free {free}-mile zone, so there is no travel fee."
        for c in r.service_area.free_zone
    ]
    for city, miles in r.service_area.with_fee_miles.items():
        facts.append(
            f"{city} is about {num(miles)} miles from the kitchen; the travel fee applies beyond "
            f"{free} miles at {per_mile} per mile{way}, so the travel fee to {city} is about "
            f"{money(tr.fee(miles))}."
        )
    facts += [
        f"{c} is outside our service area; we cannot cater events there."
        for c in r.service_area.outside
    ]
    facts.append(f"Events must be booked at least {bk.lead_time_hours} hours in advance.")
    if bk.lead_time_hours >= 48:
        facts.append("Same-day and next-day bookings are not accepted.")
    start = bk.start_window
    facts += [
        f"Events can start between {clock(start.earliest)} and {clock(start.latest)}, "
        f"{_days(bk.days)}.",
        f"The chef arrives {bk.chef_arrives_minutes_before} minutes before the start time to "
        "set up.",
        f"A standard event lasts about {num(bk.event_duration_hours)} hours including setup.",
    ]
    low = 1
    for tier in bk.chefs:
        chefs = f"{word(tier.chefs)} chef{'s' if tier.chefs > 1 else ''}"
        facts.append(
            f"{chefs.capitalize()} serves up to {tier.max_guests} guests."
            if low == 1
            else f"Parties of {low} to {tier.max_guests} guests get {chefs}."
        )
        low = tier.max_guests + 1
    facts.append(f"Parties over {r.approval_above} guests need staff approval.")
    if bk.min_guests == 0:
        facts.append(f"There is no minimum head count, but the {minimum} event minimum applies.")
    fields = [_FIELD_LABELS[f] for f in bk.required_fields]
    facts += [
        f"A booking needs the {join(fields)}.",
        f"The customer provides {join(bk.customer_provides)}.",
        f"We provide the {join(bk.we_provide)}.",
        f"The grill must be used {join(r.venue.allowed, 'or')}.",
    ]
    if not r.venue.indoor_cooking:
        facts.append("We cannot cook indoors.")
    if r.venue.rain_move_free:
        facts.append(
            "If it rains and there is no covered outdoor space, the event can be moved to "
            "another date at no charge."
        )
    days, times = ch.cancellation_full_refund_days_before, ch.reschedule_free_times
    once = {1: "once", 2: "twice"}.get(times, f"{times} times")
    facts += [
        f"Guest counts can be changed up to {ch.guest_count_change_hours_before} hours before "
        "the event.",
        f"Cancellations {days} or more days before the event get the "
        f"{money(p.deposit.amount)} deposit back in full.",
        f"Cancellations less than {days} days before the event lose the deposit.",
        f"Rescheduling is free {once} if requested at least {ch.reschedule_min_hours_before} "
        "hours before the event.",
        f"The office answers messages from {clock(r.office_hours.open)} to "
        f"{clock(r.office_hours.close)} every day.",
    ]
    return facts
