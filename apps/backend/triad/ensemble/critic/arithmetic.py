"""Is a stated number derivable by simple arithmetic from numbers the answer may build on?

Quotes are sums of line items (count x rate), percentages and differences. A derivation may
only use counts and stated amounts from the question and the answer's own already-verified
numbers, plus the evidence's rates, percentages and durations, and never one source twice:
that keeps "3 gyoza at $10 and 2 edamame at $5 come to $40" derivable and "$45" not.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

from triad.ensemble.critic.facts import Fact
from triad.ensemble.critic.text import stem

Role = Literal["money", "count", "percent", "time", "duration"]


@dataclass(frozen=True, slots=True)
class Operand:
    """A number a derivation may use, with where it came from (ids of its sources).

    `scales` marks a money rate ("$10 per order") or a count of things ("3 orders"): only
    those two multiply each other.
    """

    value: float
    role: Role
    label: str
    sources: frozenset[str]
    scales: bool = False
    topic: frozenset[str] = frozenset()


def operand(fact: Fact, source: str, topic: frozenset[str] = frozenset()) -> Operand | None:
    """The fact as an operand, or None for values arithmetic must not touch (years, days).

    A count's topic is what it counts ("adults"); an evidence rate's topic is its sentence's
    words, so "3 gyoza" only meets the gyoza price.
    """
    role: Role
    if fact.kind == "money":
        role = "money"
    elif fact.kind in ("number", "distance") and not fact.is_year:
        role = "count"
    elif fact.kind in ("percent", "time", "duration"):
        role = fact.kind
    else:
        return None
    value = fact.amount if role == "count" else fact.value
    scales = fact.rate if role == "money" else fact.counted
    if role == "count" and not topic:
        topic = frozenset({"mile" if fact.unit == "mi" else fact.unit or stem(fact.noun)})
    return Operand(value, role, fact.text, frozenset({source}), scales, topic)


def _key(value: float) -> int:
    return round(value * 100)


class Deriver:
    """Finds a derivation of a target value from the stated and evidence operands."""

    def __init__(self, stated: Iterable[Operand], evidence: Iterable[Operand]) -> None:
        self.stated = list(stated)
        self.evidence = list(evidence)
        self.evidence_sources = frozenset().union(*(o.sources for o in self.evidence))

    def _level1(self, role: Role) -> list[Operand]:
        out: list[Operand] = []
        counts = [o for o in self.stated if o.role == "count"]
        if role == "money":
            rates = [o for o in (*self.stated, *self.evidence) if o.role == "money" and o.scales]
            for c in (o for o in counts if o.scales):
                for r in rates:
                    evidence_rate = r.sources <= self.evidence_sources
                    if evidence_rate and not c.topic & r.topic:
                        continue
                    if not c.sources & r.sources:
                        out.append(
                            Operand(c.value * r.value, "money", f"{c.label} x {r.label}",
                                    c.sources | r.sources)
                        )  # fmt: skip
            pcts = [o for o in self.stated if o.role == "percent"]
            for m in (o for o in self.stated if o.role == "money"):
                for p in pcts:
                    if m.sources & p.sources:
                        continue
                    src = m.sources | p.sources
                    part = m.value * p.value / 100
                    out.append(Operand(part, "money", f"{p.label} of {m.label}", src))
                    out.append(Operand(m.value - part, "money", f"{m.label} - {p.label}", src))
                    out.append(Operand(m.value + part, "money", f"{m.label} + {p.label}", src))
        elif role == "count":
            for a, b in combinations(counts, 2):
                if a.scales and b.scales and not a.sources & b.sources:
                    out.append(Operand(a.value * b.value, "count", f"{a.label} x {b.label}",
                                       a.sources | b.sources))  # fmt: skip
        elif role == "time":
            durations = [o for o in (*self.stated, *self.evidence) if o.role == "duration"]
            for t in (o for o in self.stated if o.role == "time"):
                for d in durations:
                    if not t.sources & d.sources:
                        src = t.sources | d.sources
                        out.append(
                            Operand(t.value - d.value, "time", f"{t.label} - {d.label}", src)
                        )
                        out.append(
                            Operand(t.value + d.value, "time", f"{t.label} + {d.label}", src)
                        )
        return out

    def derive(self, target: float, role: Role) -> Operand | None:
        """`target` as a derived operand (label = how, sources = what it used), or None."""
        want = _key(target)
        stated = [o for o in self.stated if o.role == role and not (role == "money" and o.scales)]
        level1 = self._level1(role)
        for o in level1:
            if _key(o.value) == want:
                return o
        if role in ("time", "duration", "percent"):
            return None
        pool = stated + level1
        by_value: dict[int, list[Operand]] = defaultdict(list)
        for o in pool:
            by_value[_key(o.value)].append(o)
        stated_ids = {id(o) for o in stated}
        for x in pool:
            options = [(want - _key(x.value), "+")]
            if id(x) in stated_ids:
                options.append((_key(x.value) - want, "-"))
            for y_key, sign in options:
                for y in by_value.get(y_key, ()):
                    if y is not x and not x.sources & y.sources:
                        label = f"{x.label} {sign} {y.label}"
                        return Operand(target, role, label, x.sources | y.sources)
        stated_by_value: dict[int, list[Operand]] = defaultdict(list)
        for o in stated:
            stated_by_value[_key(o.value)].append(o)
        for x, y in combinations(stated, 2):
            if x.sources & y.sources:
                continue
            for z in stated_by_value.get(want - _key(x.value) - _key(y.value), ()):
                if z is not x and z is not y and not (z.sources & (x.sources | y.sources)):
                    label = f"{x.label} + {y.label} + {z.label}"
                    return Operand(target, role, label, x.sources | y.sources | z.sources)
        return None
