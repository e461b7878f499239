"""Customer wording turned into a quote request, kept apart so the calculator never parses text."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from triad.agents.quote import QuoteRequest
from triad.agents.rules import WEEKDAYS, BusinessRules, Weekday

_SMALL = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}
_N = r"(?<![\w$.,])(\d+)(?![.,]\d)"
_MILES = r"(\d+(?:\.\d+)?)\s*(?:miles?|mi)\b"
_NOT_PLACES = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "the", "our", "my", "a", "an", "i", *WEEKDAYS,
}  # fmt: skip


def normalize_numbers(text: str) -> str:
    """Lower-case text with number words up to fifty (and "a dozen") written as digits."""
    out = text.lower().replace("a dozen", "12")
    small = "|".join(_SMALL[1:10])

    def tens(m: re.Match[str]) -> str:
        return str(_TENS[m[1]] + (_SMALL.index(m[2]) if m[2] else 0))

    out = re.sub(rf"\b({'|'.join(_TENS)})(?:[- ]({small}))?\b", tens, out)
    return re.sub(rf"\b({'|'.join(_SMALL)})\b", lambda m: str(_SMALL.index(m[1])), out)


@dataclass
class GuestCounts:
    """Head counts found in text; None means the customer did not say."""

    adults: int | None = None
    children: int | None = None
    under_4: int | None = None
    assumptions: list[str] = field(default_factory=list)


def _classify(age: int, rules: BusinessRules) -> str:
    g = rules.pricing.guests
    return (
        "under_4" if age <= g.infant.max_age else "adults" if age >= g.adult.min_age else "children"
    )


def _ages_after(rest: str) -> list[int]:
    clause = re.match(
        r"\s*(?:\(([^)]*)\)|,?\s*(?:ages?|aged)\s+([\d,\s]+(?:and\s+\d+)?)|"
        r"(?:between|from)\s+(\d+\s+(?:and|to)\s+\d+))",
        rest,
    )
    return (
        [int(a) for a in re.findall(r"\d+", next(g for g in clause.groups() if g))]
        if clause
        else []
    )


def extract_guests(text: str, rules: BusinessRules) -> GuestCounts:
    """Head counts from phrasing like "20 adults and 3 kids (ages 5, 8 and 10)"."""
    t, found = normalize_numbers(text), GuestCounts()
    counts: dict[str, int] = {}
    kid = r"(?:little\s+|young\s+|small\s+)?(?:kids?|children|child|boys?|girls?)\b"
    for m in re.finditer(rf"{_N}\s+{kid}(?:\s+(?:under|below|younger than)\s+(\d+))?", t):
        n, ages = int(m[1]), _ages_after(t[m.end() :])
        if m[2] and int(m[2]) <= rules.pricing.guests.infant.max_age + 1:
            ages = [0] * n
        groups = [_classify(a, rules) for a in ages]
        if groups and len(groups) == n:
            for g in groups:
                counts[g] = counts.get(g, 0) + 1
        else:
            key = groups[0] if groups and len(set(groups)) == 1 else "children"
            counts[key] = counts.get(key, 0) + n
    for key, pattern in (
        ("adults", rf"{_N}\s+(?:of\s+us\s+)?(?:adults?|grown[- ]?ups?|grownups?)\b"),
        ("under_4", rf"{_N}\s+(?:toddlers?|babies|baby|infants?)\b"),
        ("children", rf"{_N}\s+of\s+(?:them|whom)\s+(?:are\s+)?(?:kids|children)\b"),
    ):
        if hit := re.search(pattern, t):
            counts[key] = counts.get(key, 0) + int(hit[1])
    if not counts.keys() & {"children", "under_4"}:
        person = r"(?:son|daughter|kid|child|boy|girl|grandson|granddaughter|nephew|niece)"
        ages = re.findall(rf"\b{person}\s+(?:is|who is|who's|turning|turns)\s+{_N}", t)
        ages += re.findall(r"\b(?:a|an|my|our)\s+(\d+)[- ]?(?:yo|y/o|years?[- ]old)\b", t)
        for age in ages:
            counts[_classify(int(age), rules)] = counts.get(_classify(int(age), rules), 0) + 1
    found.adults, found.children, found.under_4 = (
        counts.get(k) for k in ("adults", "children", "under_4")
    )
    if re.search(r"\b(?:no|zero) (?:kids|children)\b|\b(?:all|only|just) adults\b", t):
        found.children = found.children or 0
    total = re.search(
        rf"{_N}\s+(?:of\s+us\b|people|persons|guests|ppl|pax|folks|heads)\b|"
        rf"\b(?:party|group) of {_N}\b",
        t,
    )
    if total and found.adults is None:
        people = int(total[1] or total[2])
        found.adults = max(0, people - (found.children or 0) - (found.under_4 or 0))
        if found.children is None and found.under_4 is None:
            found.assumptions.append(f"All {people} guests were counted as adults.")
    return found


def _item_count(t: str, aliases: list[str]) -> int | None:
    """Plates or orders of one item, or -1 for "for everyone"; None when no count is said."""
    for alias in sorted(aliases, key=len, reverse=True):
        a = r"\b" + r"\s+".join(map(re.escape, alias.lower().split())) + r"\b"
        for pattern in (
            rf"{_N}\s+(?:orders?|plates?|servings?|portions?|sides?|trays?)\s+of\s+(?:the\s+)?{a}",
            rf"{_N}\s+(?:extra\s+)?{a}",
            rf"{_N}\s+of\s+(?:them|us|those|the\s+\w+)\s+(?:\w+\s+){{0,2}}?(?:the\s+)?{a}",
            rf"{a}\s+(?:\w+\s+)?(?:for|on|x)\s+(?:all\s+|the\s+|each\s+of\s+(?:the\s+)?)?{_N}",
        ):
            if m := re.search(pattern, t):
                return int(m[1])
        everyone = r"(?:everyone|everybody|all(?!\s+\d)|(?:each|every) (?:guest|person|plate))"
        if re.search(
            rf"{a}\s+(?:\w+\s+){{0,2}}?(?:for|to)\s+{everyone}|{everyone}\s+(?:\w+\s+){{0,2}}?{a}",
            t,
        ):
            return -1
    return None


def find_city(text: str, rules: BusinessRules) -> str | None:
    """The first service-area city named (not as "from Sacramento"), else an "in <Place>" guess."""
    best: tuple[int, str] | None = None
    for city in sorted(rules.known_cities(), key=len, reverse=True):
        for m in re.finditer(rf"\b{re.escape(city)}\b", text, re.I):
            taken = best and best[0] <= m.start() < best[0] + len(best[1])
            after_from = re.search(r"\bfrom\s+(?:downtown\s+)?$", text[: m.start()], re.I)
            if not after_from and not taken and (best is None or m.start() < best[0]):
                best = (m.start(), city)
    if best:
        return best[1]
    for m in re.finditer(r"\b(?:in|at|near)\s+([A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,2})", text):
        if m[1].split()[0].lower() not in _NOT_PLACES:
            return m[1]
    return None


def _weekday(t: str) -> Weekday | None:
    short = {"tues": "tuesday", "weds": "wednesday", "thurs": "thursday"}
    m = re.search(rf"\b({'|'.join([*WEEKDAYS, *short])})s?\b", t)
    return None if not m else next(d for d in WEEKDAYS if d == short.get(m[1], m[1]))


def extract_quote_request(text: str | Sequence[str], rules: BusinessRules) -> QuoteRequest | None:
    """A quote request from a customer's message(s), later messages overriding earlier ones."""
    fields: dict[str, Any] = {"upgrades": {}, "addons": {}, "assumptions": []}
    for message in [text] if isinstance(text, str) else list(text):
        t = normalize_numbers(message)
        guests = extract_guests(message, rules)
        for key in ("adults", "children", "under_4"):
            if (value := getattr(guests, key)) is not None:
                fields[key] = value
        fields["assumptions"] = guests.assumptions or fields["assumptions"]
        for kind, items in (
            ("upgrades", rules.menu.premium_upgrades),
            ("addons", rules.menu.addons),
        ):
            for item in items:
                if (n := _item_count(t, [item.name, *item.aliases])) is not None:
                    fields[kind][item.name] = n
        if m := re.search(
            rf"{_MILES}\s+(?:away|out|from|north|south|east|west|outside|drive)|"
            rf"(?:about|around|roughly|approximately|like|~)\s*{_MILES}",
            t,
        ):
            fields["distance_miles"] = Decimal(m[1] or m[2])
        if city := find_city(message, rules):
            fields["city"] = city
        if day := _weekday(t):
            fields["weekday"] = day
        if m := re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", t):
            with contextlib.suppress(ValueError):
                fields["event_date"] = date(int(m[1]), int(m[2]), int(m[3]))
                fields.pop("weekday", None)
    plates = fields.get("adults", 0) + fields.get("children", 0)
    for kind in ("upgrades", "addons"):
        fields[kind] = {k: plates if n == -1 else n for k, n in fields[kind].items()}
        fields[kind] = {k: n for k, n in fields[kind].items() if n > 0}
    guests = sum(fields.get(k, 0) for k in ("adults", "children", "under_4"))
    located = "city" in fields or "distance_miles" in fields
    if not (guests or fields["upgrades"] or fields["addons"] or located):
        return None
    return QuoteRequest(**fields)
