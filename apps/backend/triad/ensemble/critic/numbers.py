"""Checks every typed fact of one answer: stated in the evidence, derivable, or contradicted.

Facts are resolved for the whole answer at once because a total may build on a subtotal the
answer states elsewhere ("16 adults ($960) plus 4 kids ($120) comes to $1,080").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from triad.ensemble.critic.arithmetic import Deriver, Operand, operand
from triad.ensemble.critic.evidence import Sentence
from triad.ensemble.critic.facts import DAYS, Fact
from triad.ensemble.critic.index import EvidenceIndex
from triad.ensemble.critic.text import stem

FactStatus = Literal["supported", "unsupported", "contradicted"]
_PLAIN = frozenset({"number", "duration", "distance"})
WINDOW = 5
RANGE_WEIGHT = 3
_N = r"(?<![$\d.,:])(\d{1,4})(?![\d:%]|\.\d)"
_RANGES = [
    (re.compile(rf"{_N}\s*(?:to|-|\u2013|through|thru)\s*{_N}", re.I), "between"),
    (re.compile(rf"{_N}\s*(?:and|or)\s+(?:older|over|up|more|above)\b", re.I), "from"),
    (re.compile(rf"\b(?:under|below|younger\s+than|less\s+than|fewer\s+than)\s+{_N}", re.I),
     "below"),
    (re.compile(rf"\b(?:over|above|older\s+than|more\s+than|beyond)\s+{_N}", re.I), "above"),
]  # fmt: skip


@lru_cache(maxsize=4096)
def ranges(text: str) -> tuple[tuple[float, float], ...]:
    """The number ranges a sentence states ("ages 4 to 12", "13 and older", "under 4")."""
    out = []
    for pattern, kind in _RANGES:
        for m in pattern.finditer(text):
            a = float(m.group(1))
            if kind == "between":
                out.append((a, float(m.group(2))))
            elif kind == "from":
                out.append((a, math.inf))
            elif kind == "below":
                out.append((-math.inf, a - 1e-9))
            else:
                out.append((a + 1e-9, math.inf))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class FactContext:
    """A fact of the answer with the words around it, in its claim and just before it."""

    fact: Fact
    window: frozenset[str]
    claim: frozenset[str]
    names: frozenset[str] = frozenset()
    aux: frozenset[str] = frozenset()
    siblings: tuple[Fact, ...] = ()
    asked: tuple[Fact, ...] = ()
    """The question's plain numbers, used when the claim states none besides this fact."""


@dataclass(frozen=True, slots=True)
class FactVerdict:
    """Why one fact passed or failed, with the evidence sentence that decided it; `anchored`
    when the evidence itself (not only the question) states or yields the value."""

    status: FactStatus
    reason: str
    evidence: str = ""
    anchored: bool = False


@dataclass(frozen=True, slots=True)
class _Match:
    score: int
    own: int
    sentence: Sentence
    near: int
    named: bool


def _match(ctx: FactContext, s: Sentence, names: frozenset[str], indexes: list[int]) -> _Match:
    words = s.stems | s.context
    near = max(len(ctx.window & s.fact_windows[i]) for i in indexes)
    own = 3 * near + 3 * len(ctx.names & words) + 2 * len(ctx.claim & words)
    counts = [g.amount for g in ctx.siblings if g.kind == "number" and not g.counted] or [
        g.amount for g in ctx.asked if g.kind == "number" and not g.counted
    ]
    if counts and any(lo <= x <= hi for lo, hi in ranges(s.text) for x in counts):
        own += RANGE_WEIGHT
    named = bool(names & (ctx.names | ctx.claim | ctx.aux))
    return _Match(own + len(ctx.aux & words), own, s, near, named)


def _clearly_better(contrast: _Match, support: _Match | None) -> bool:
    """A different value wins only on the claim's own words, and by a clear margin."""
    if contrast.own < 2:
        return False
    if support is None:
        return True
    return contrast.score > 1.5 * support.score + 2


def _direct(
    ctx: FactContext, index: EvidenceIndex
) -> tuple[_Match | None, _Match | None, _Match | None]:
    """The best evidence sentence stating the same value, the best stating another, and the
    best stating another about the same named subject right next to the same words."""
    support: _Match | None = None
    contrast: _Match | None = None
    pinned: _Match | None = None
    mentioned = ctx.names | ctx.claim | ctx.aux
    kinds = _PLAIN if ctx.fact.kind in _PLAIN else {ctx.fact.kind}
    same: dict[int, list[int]] = {}
    other: dict[int, list[int]] = {}
    for kind in kinds:
        for i, j in index.facts_of(kind):
            g = index.sentences[i].facts[j]
            if not ctx.fact.compatible(g):
                continue
            if ctx.fact.same_value(g):
                same.setdefault(i, []).append(j)
            elif not any(x.same_value(g) for x in ctx.siblings):
                other.setdefault(i, []).append(j)
    for i, js in same.items():
        s, names = index.sentences[i], index.names(i)
        if names and ctx.names and not names & mentioned:
            continue
        m = _match(ctx, s, names, js)
        if support is None or m.score > support.score:
            support = m
    for i, js in other.items():
        s, names = index.sentences[i], index.names(i)
        if i in same or (names and ctx.names and not names & mentioned):
            continue
        m = _match(ctx, s, names, js)
        if contrast is None or m.score > contrast.score:
            contrast = m
        if m.named and m.near >= 2 and (pinned is None or m.score > pinned.score):
            pinned = m
    return support, contrast, pinned


def _question_operands(index: EvidenceIndex) -> list[tuple[Fact, Operand]]:
    out = []
    for i, qf in enumerate(index.question_facts):
        op = operand(qf, f"q{i}")
        if op is not None:
            out.append((qf, op))
    return out


def check_facts(facts: list[FactContext], index: EvidenceIndex) -> list[FactVerdict]:
    """One verdict per fact, in order."""
    verdicts: list[FactVerdict | None] = [None] * len(facts)
    question = _question_operands(index)
    stated = [op for _, op in question]
    echoed: set[str] = set()
    contrasts: dict[int, _Match] = {}
    pinned: set[int] = set()
    for i, ctx in enumerate(facts):
        f = ctx.fact
        if f.kind == "day":
            verdicts[i] = _day(ctx, index)
            continue
        if any(f.same_value(q) for q in index.question_facts):
            echo, _, _ = _direct(ctx, index)
            strong = echo is not None and echo.own >= 2
            where = echo.sentence.text if echo is not None and strong else ""
            verdicts[i] = FactVerdict(
                "supported", f"{f.text} is stated in the question", where, anchored=strong
            )
            twin = next(
                (op for qf, op in question if f.same_value(qf) and op.label not in echoed), None
            )
            if twin is not None:
                echoed.add(twin.label)
                continue
        else:
            support, contrast, pin = _direct(ctx, index)
            if contrast is not None and _clearly_better(contrast, support):
                contrasts[i] = contrast
                decisive = f.kind in ("money", "percent")
                if decisive and pin is not None and (support is None or pin.score > support.score):
                    pinned.add(i)
                    contrasts[i] = pin
            elif support is not None:
                verdicts[i] = FactVerdict(
                    "supported", f"{f.text} is stated in the evidence", support.sentence.text, True
                )
        if verdicts[i] is not None:
            op = operand(f, f"a{i}")
            if op is not None:
                stated.append(op)
    evidence_ops = index.rate_operands
    changed = True
    while changed:
        changed = False
        deriver = Deriver(stated, evidence_ops)
        for i, ctx in enumerate(facts):
            if verdicts[i] is not None or i in pinned:
                continue
            op = operand(ctx.fact, f"a{i}")
            if op is None:
                continue
            how = deriver.derive(op.value, op.role)
            if how is not None:
                verdicts[i] = FactVerdict("supported", f"{ctx.fact.text} = {how.label}", "", True)
                stated.append(Operand(op.value, op.role, op.label, how.sources, op.scales))
                changed = True
                break
    out: list[FactVerdict] = []
    for i, ctx in enumerate(facts):
        v = verdicts[i]
        if v is None:
            text = ctx.fact.text
            if i in contrasts:
                s = contrasts[i].sentence
                v = FactVerdict("contradicted", f"{text} differs from the evidence", s.text)
            else:
                v = FactVerdict("unsupported", f"{text} is neither in the evidence nor derivable")
        out.append(v)
    return out


def _day(ctx: FactContext, index: EvidenceIndex) -> FactVerdict:
    """A day the claim names, checked against the evidence sentences about the same thing.

    Rules tied to days ("weekday events (Monday to Thursday) ... 10% off") bind their days: a
    claim sharing a specific word with such a sentence ("a discount on Saturdays") must name
    one of its days, even when the customer's question named the day first. A day no such
    sentence speaks of is supported when the evidence or the question names it anywhere.
    """
    f = ctx.fact
    day = int(f.value)
    words = {w for w in ctx.claim if index.is_rare(w, 3) and index.knows_stem(w)}
    related = [s for s in index.sentences if s.days and words & (s.stems | s.context) - _DAY_STEMS]
    if related:
        hit = next((s for s in related if day in s.days), None)
        if hit is not None:
            return FactVerdict("supported", f"{f.text} is among the days of the rule", hit.text)
        why = f"{f.text} is not among the days the evidence gives for this"
        return FactVerdict("contradicted", why, related[0].text)
    ok = index.has_day(day)
    return FactVerdict(
        "supported" if ok else "unsupported",
        f"{f.text} is {'' if ok else 'not '}among the days the evidence names",
    )


_DAY_STEMS = frozenset(stem(d) for d in DAYS) | frozenset(("weekday", "weekend", "day"))
