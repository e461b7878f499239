"""Enumerations checked member by member: "Standard proteins: Chicken, Shrimp, Salmon."

A list claim is a label and its members. Each member must be a member of an enumeration of
the evidence (a markdown list, or the commas of one sentence) with the same values and the
same polarity, and the label must be said of each member somewhere: a heading, the list's
sentence, or a sentence naming the member. Reordered, reformatted or partial lists pass; an
invented member, a changed price or an item the evidence denies does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from triad.ensemble.critic.analysis import ClaimAnalysis
from triad.ensemble.critic.claims import list_items
from triad.ensemble.critic.evidence import Item
from triad.ensemble.critic.facts import Fact
from triad.ensemble.critic.index import EvidenceIndex
from triad.ensemble.critic.text import STOPWORDS

_LABEL_RE = re.compile(r":\s+")
LABEL_SLACK = 1 / 3


@dataclass(frozen=True, slots=True)
class Member:
    """One member of a claim's enumeration."""

    text: str
    stems: frozenset[str]
    facts: tuple[Fact, ...]
    negated: bool


@dataclass(frozen=True, slots=True)
class ListVerdict:
    """What the evidence says of a list claim: all members found, one contradicted, or one
    the evidence never lists."""

    status: str
    reason: str
    evidence: str = ""


def _depth(text: str, at: int) -> int:
    return text.count("(", 0, at) - text.count(")", 0, at)


def members(a: ClaimAnalysis) -> tuple[frozenset[str], list[Member]] | None:
    """The claim's label stems and members, or None when the claim is not an enumeration."""
    text = a.span.text
    label_end, body = 0, 0
    for m in _LABEL_RE.finditer(text):
        if _depth(text, m.start()) == 0:
            label_end, body = m.start(), m.end()
            break
    spans = list_items(text[body:], a.span.start + body)
    if len(spans) < 3 and not (label_end and len(spans) >= 2):
        return None
    out = []
    for s, e in spans:
        toks = [t for t in a.toks if s <= t.start < e]
        facts = tuple(f for f in a.facts if s <= f.start < e)
        inside = [(f.start, f.end) for f in facts]
        stems = frozenset(
            t.stem
            for t in toks
            if t.lower not in STOPWORDS and len(t.lower) > 1
            and not any(x <= t.start < y for x, y in inside)
        )  # fmt: skip
        if len(stems) > 6:
            return None
        negated = a.negated_at(s + 1) or any(a.negated_at(t.start) for t in toks)
        out.append(Member(text[s - a.span.start : e - a.span.start], stems, facts, negated))
    if not all(m.stems or m.facts for m in out):
        return None
    label_toks = [t for t in a.toks if t.start < a.span.start + label_end]
    label = frozenset(t.stem for t in label_toks if t.lower not in STOPWORDS and len(t.lower) > 1)
    return label, out


def _facts_agree(member: Member, item: Item) -> bool | None:
    """True when every value of the member is the item's, False when the item states another
    value of the same kind, None when the item states none."""
    if not member.facts:
        return True
    if not item.facts:
        return None
    for f in member.facts:
        if any(f.same_value(g) for g in item.facts):
            continue
        if any(f.compatible(g) for g in item.facts):
            return False
        return None
    return True


def check_list(a: ClaimAnalysis, index: EvidenceIndex) -> ListVerdict | None:
    """The verdict on an enumeration claim, or None to leave it to the general checks."""
    parsed = members(a)
    if parsed is None:
        return None
    label, found = parsed
    first_text = ""
    for m in found:
        if not m.stems:
            return None
        hits: list[tuple[int, Item]] = []
        for i in sorted(index.containing(m.stems)):
            for item in index.sentences[i].items:
                if m.stems <= item.stems:
                    hits.append((i, item))
        if not hits:
            if not any(index.knows_stem(w) for w in m.stems):
                why = f"'{m.text}' is not among what the evidence lists"
                return ListVerdict("unsupported", why)
            return None
        agreeing = [(i, it) for i, it in hits if _facts_agree(m, it) and it.negated == m.negated]
        if not agreeing:
            i, it = hits[0]
            if it.negated != m.negated:
                why = "denies" if it.negated else "states"
                return ListVerdict("contradicted", f"the evidence {why} '{m.text}'",
                                   index.sentences[i].text)  # fmt: skip
            if _facts_agree(m, it) is False:
                return ListVerdict("contradicted", f"'{m.text}' differs from the evidence",
                                   index.sentences[i].text)  # fmt: skip
            return None
        first_text = first_text or index.sentences[agreeing[0][0]].text
        if label:
            said: set[str] = set()
            for i, _ in agreeing:
                for j in index.siblings(i):
                    said |= index.sentences[j].context
                said |= index.sentences[i].stems
            for i in index.containing(m.stems):
                s = index.sentences[i]
                if m.stems <= s.stems:
                    said |= s.stems | s.context
            if len(label - said) > LABEL_SLACK * len(label):
                return None
    return ListVerdict("supported", "every listed item is in the evidence's list", first_text)
