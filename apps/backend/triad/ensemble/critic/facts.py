"""Typed facts (money, percentages, times, durations, distances, numbers, days) found in text.

Hallucinated answers most often get a number wrong, so every value an answer states is pulled
out with its unit and span, normalised so that "$1,200.00" meets "$1200" and "8:00 PM" meets
"8 pm", and checked on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from triad.ensemble.critic.text import STOPWORDS

FactKind = Literal["money", "percent", "time", "duration", "distance", "number", "day"]

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_UNITS = {
    "zero": 0, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90, "hundred": 100,
}  # fmt: skip
_ORDINALS = {
    "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "twentieth": 20,
}  # fmt: skip
_WORDNUM = (
    r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)-(?:two|three|four|five|six|"
    r"seven|eight|nine)|"
    + "|".join(sorted((k for k in _UNITS if k != "zero"), key=len, reverse=True))
    + r"|one)"
)
_ANYNUM = rf"(?:{_NUM}|{_WORDNUM})"
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DURATION_MINUTES = {"minute": 1, "min": 1, "hour": 60, "hr": 60, "day": 1440, "week": 10080,
                     "month": 43200, "year": 525600}  # fmt: skip
_DISTANCE_UNIT = {"mile": "mi", "mi": "mi", "kilometer": "km", "kilometre": "km", "km": "km",
                  "meter": "m", "metre": "m", "feet": "ft", "foot": "ft", "ft": "ft"}  # fmt: skip

_PATTERNS: list[tuple[FactKind, re.Pattern[str]]] = [
    ("money", re.compile(
        rf"(?P<sign>[+\-\u2212])?\s?\$\s?(?P<num>{_NUM})(?:\s?(?P<mult>k|million|billion)\b)?",
        re.IGNORECASE)),
    ("money", re.compile(rf"\b(?P<num>{_NUM})\s?(?:dollars|usd)\b", re.IGNORECASE)),
    ("percent", re.compile(rf"\b(?P<num>{_ANYNUM})\s?(?:%|percent\b|per cent\b)", re.IGNORECASE)),
    ("time", re.compile(
        r"\b(?P<h>1[0-2]|0?\d)(?::(?P<m>[0-5]\d))?\s?(?P<ap>[ap])\.?m\b\.?", re.IGNORECASE)),
    ("time", re.compile(r"\b(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)\b")),
    ("time", re.compile(r"\b(?P<word>noon|midnight)\b", re.IGNORECASE)),
    ("number", re.compile(rf"\b(?P<num>{_ANYNUM})[- ]years?[- ]old\b", re.IGNORECASE)),
    ("duration", re.compile(
        rf"\b(?P<num>{_ANYNUM})(?:\s|-)(?P<unit>minute|min|hour|hr|day|week|month|year)s?\b",
        re.IGNORECASE)),
    ("distance", re.compile(
        rf"\b(?P<num>{_ANYNUM})(?:\s|-)(?P<unit>mile|mi|kilomet(?:er|re)|km|met(?:er|re)|feet|"
        r"foot|ft)s?\b", re.IGNORECASE)),
    ("day", re.compile(r"\b(?P<day>" + "|".join(DAYS) + r")s?\b", re.IGNORECASE)),
    ("number", re.compile(rf"(?<![\w.,])(?P<num>{_NUM})(?:st|nd|rd|th)?(?![\w$%])")),
    ("number", re.compile(
        r"\b(?P<word>" + _WORDNUM + "|" + "|".join(_ORDINALS) + r")\b", re.IGNORECASE)),
]  # fmt: skip
_RATE_AFTER_RE = re.compile(r"^\s*(?:per|each|a|an|every|/)\b|^\s*/", re.IGNORECASE)
_RATE_BEFORE_RE = re.compile(r"(?:\bat|\+)\s*$", re.IGNORECASE)
_NOUN_AFTER_RE = re.compile(r"^\s*([A-Za-z][A-Za-z-]*)")
_AGE_BEFORE_RE = re.compile(r"\bage[sd]?\b[\d\s,;]*(?:and|or)?\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Fact:
    """One typed value: `value` is normalised per kind, `amount` is the number as written."""

    kind: FactKind
    value: float
    amount: float
    unit: str
    start: int
    end: int
    text: str
    rate: bool = False
    noun: str = ""
    counted: bool = False

    @property
    def is_year(self) -> bool:
        return self.kind == "number" and self.amount.is_integer() and 1000 <= self.amount <= 2100

    @property
    def key(self) -> tuple[str, str, float]:
        return (self.kind, self.unit, round(self.value, 4))

    def compatible(self, other: Fact) -> bool:
        """Same kind and unit, or a bare number against a count-like value."""
        if self.kind == other.kind:
            return self.unit == other.unit
        plain = {"number", "duration", "distance"}
        return "number" in (self.kind, other.kind) and {self.kind, other.kind} <= plain

    def same_value(self, other: Fact, tolerance: float = 0.005) -> bool:
        """True when both facts state the same quantity (tolerating rounding of cents)."""
        if not self.compatible(other):
            return False
        a, b = (self.value, other.value) if self.kind == other.kind else (self.amount, other.amount)
        return abs(a - b) <= max(tolerance, 1e-4 * abs(b))


def _number(raw: str) -> float:
    word = raw.lower()
    if word in _UNITS:
        return float(_UNITS[word])
    if word in _ORDINALS:
        return float(_ORDINALS[word])
    if word == "one":
        return 1.0
    if "-" in word and word.split("-")[0] in _UNITS:
        tens, ones = word.split("-", 1)
        return float(_UNITS[tens] + _UNITS.get(ones, 0))
    return float(raw.replace(",", ""))


def _build(kind: FactKind, m: re.Match[str], text: str, offset: int) -> Fact | None:
    g = m.groupdict()
    unit, rate = "", False
    if kind == "time":
        if g.get("word"):
            value = 720.0 if g["word"].lower() == "noon" else 0.0
        else:
            hour, minute = int(g["h"]), int(g["m"] or 0)
            if g.get("ap"):
                hour = hour % 12 + (12 if g["ap"].lower() == "p" else 0)
            value = float(hour * 60 + minute)
        amount, unit = value, "min"
    elif kind == "day":
        amount = value = float(DAYS.index(g["day"].lower()))
        unit = "day"
    else:
        raw = g.get("num") or g.get("word") or ""
        if raw.lower() == "one" and kind == "number":
            return None
        amount = _number(raw)
        value = amount
        if kind == "money":
            value *= {"k": 1e3, "million": 1e6, "billion": 1e9}.get(
                (g.get("mult") or "").lower(), 1
            )
            unit = "usd"
            rate = bool(
                _RATE_AFTER_RE.match(text[m.end() : m.end() + 12])
                or _RATE_BEFORE_RE.search(text[max(0, m.start() - 4) : m.start()])
                or (g.get("sign") or "") == "+"
            )
        elif kind == "percent":
            unit = "%"
        elif kind == "duration":
            value *= _DURATION_MINUTES[g["unit"].lower()]
            unit = "min"
        elif kind == "distance":
            unit = _DISTANCE_UNIT[re.sub(r"s$", "", g["unit"].lower())] if g["unit"] else "mi"
    noun_m = _NOUN_AFTER_RE.match(text[m.end() : m.end() + 30])
    noun = noun_m.group(1).lower() if noun_m else ""
    counted = kind == "distance" or (
        kind == "number"
        and bool(noun)
        and noun not in STOPWORDS
        and not _AGE_BEFORE_RE.search(text[max(0, m.start() - 24) : m.start()])
    )
    return Fact(
        kind=kind,
        value=value,
        amount=amount,
        unit=unit,
        start=m.start() + offset,
        end=m.end() + offset,
        text=m.group(0).strip(),
        rate=rate,
        noun=noun,
        counted=counted,
    )


def extract_facts(text: str, offset: int = 0) -> list[Fact]:
    """Non-overlapping typed facts of `text`, in order; earlier patterns win overlaps."""
    found = _extract(text)
    if not offset:
        return list(found)
    return [replace(f, start=f.start + offset, end=f.end + offset) for f in found]


@lru_cache(maxsize=4096)
def _extract(text: str) -> tuple[Fact, ...]:
    offset = 0
    taken: list[tuple[int, int]] = []
    found: list[Fact] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            s, e = m.start(), m.end()
            if any(s < te and ts < e for ts, te in taken):
                continue
            fact = _build(kind, m, text, offset)
            if fact is not None:
                taken.append((s, e))
                found.append(fact)
    found.sort(key=lambda f: f.start)
    return tuple(found)


def expand_day_ranges(text: str) -> set[int]:
    """Day indexes a text covers, including the inside of "Monday to Thursday" style ranges."""
    low = text.lower()
    days = {i for i, d in enumerate(DAYS) if d in low}
    for m in re.finditer(
        r"("
        + "|".join(DAYS)
        + r")s?\s*(?:to|through|thru|-|\u2013|until)\s*("
        + "|".join(DAYS)
        + ")",
        low,
    ):
        a, b = DAYS.index(m.group(1)), DAYS.index(m.group(2))
        i = a
        while i != b:
            days.add(i)
            i = (i + 1) % 7
    return days
