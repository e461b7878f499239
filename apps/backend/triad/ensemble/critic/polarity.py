"""Negation conflicts: a claim offering what the evidence denies, or denying what it states.

"We do not serve wagyu beef" must sink "wagyu is available as an upgrade", "Tofu (vegetarian
and vegan)" must sink "we do not have any vegan options", and "Warren Bryant was the CEO" must
sink "Warren Bryant was not a CEO"; a denial about something else in the same sentence ("tax
applies to food, not to travel fees") must not sink "the travel fee is $36".

A denial of existence ("X is not available", "we don't offer X", "you cannot get X") is about
X, not about the verb: its target is the thing denied.
"""

from __future__ import annotations

from collections.abc import Set

from triad.ensemble.critic.analysis import ClaimAnalysis
from triad.ensemble.critic.evidence import Sentence
from triad.ensemble.critic.index import EvidenceIndex
from triad.ensemble.critic.text import EXISTENCE


def denial_target(a: ClaimAnalysis) -> set[str]:
    """What a negated claim denies: its negated words, or its subject when only existence is
    negated ("lobster is not available" denies lobster)."""
    negated = a.negated_stems
    if not negated:
        return set()
    target = negated - EXISTENCE
    if target:
        return target
    return (a.stems - negated) | a.entity_stems


def denied(
    asserted: set[str], about: set[str], index: EvidenceIndex, rare_df: int
) -> Sentence | None:
    """An evidence sentence that negates what `asserted` states about `about`.

    One denied word is enough when it is rare and the customer asked about it ("wagyu",
    "dessert"); otherwise two are needed, and the sentence's subject must be the claim's.
    """
    question = index.question_stems
    for s in index.sentences:
        for c in s.clauses:
            hit = asserted & c.negated_stems
            if not hit:
                continue
            strong = len(hit) >= 2 or any(h in question and index.is_rare(h, rare_df) for h in hit)
            on_topic = not s.subject or 2 * len(about & s.subject) >= len(s.subject)
            if strong and on_topic:
                return s
    return None


def stated(target: Set[str], others: Set[str], index: EvidenceIndex) -> Sentence | None:
    """A clause stating `target` without negation, about `others` when the claim names more."""
    if not target:
        return None
    for i in sorted(index.containing(target)):
        s = index.sentences[i]
        for c in s.clauses:
            hit = target & c.positive_stems
            if not hit:
                continue
            full = hit == target
            if others:
                if others & (c.stems | s.context) and (
                    full or (len(hit) >= 2 and 3 * len(hit) >= 2 * len(target))
                ):
                    return s
            elif full:
                return s
    return None


def affirmed(a: ClaimAnalysis, index: EvidenceIndex) -> Sentence | None:
    """A positive evidence clause stating what a negated claim denies about the same subject."""
    target = denial_target(a)
    if not target:
        return None
    others = set() if not (a.negated_stems - EXISTENCE) else (a.stems - a.negated_stems)
    return stated(target, others | (a.entity_stems - target), index)


def is_denial(a: ClaimAnalysis) -> bool:
    """True when most of what the claim says sits under its negation ("we don't serve X")."""
    negated = a.negated_stems
    return 0 < len(a.stems | negated) <= 2 * len(negated)


def negates(target: Set[str], index: EvidenceIndex) -> Sentence | None:
    """An evidence sentence denying most of `target` too."""
    if not target:
        return None
    for s in index.sentences:
        for c in s.clauses:
            hit = target & c.negated_stems
            if hit and 3 * len(hit) >= 2 * len(target):
                return s
    return None


def confirmed(a: ClaimAnalysis, index: EvidenceIndex) -> Sentence | None:
    """An evidence sentence that denies the same thing the claim denies."""
    return negates(a.negated_stems, index) or negates(denial_target(a), index)


def _negates_subject(s: Sentence, subject: str) -> bool:
    """A clause of `s` negates something about `subject`: the subject is in that clause, or
    the negated clause has no subject of its own and continues the clause before it ("a
    gratuity is suggested but not added automatically", not "shellfish is cooked on a
    separate section, but the kitchen is not allergen-free")."""
    for k, c in enumerate(s.clauses):
        if not c.negated_stems:
            continue
        if subject in c.stems:
            return True
        if k and not c.positive_stems and subject in s.clauses[k - 1].stems:
            return True
    return False


def negated_about(a: ClaimAnalysis, index: EvidenceIndex) -> Sentence | None:
    """For an affirmative claim: an evidence sentence about the claim's most specific word
    (its subject) that negates something, while the claim's predicate is nowhere in it
    ("gratuity is included" against "gratuity ... is not added automatically")."""
    if a.scopes:
        return None
    words = a.positive_stems | a.entity_stems
    known = [w for w in words if index.knows_stem(w) and not index.is_rare(w, 0)]
    if not known:
        return None
    subject = min(known, key=lambda w: (sum(p.df.get(w, 0) for p, _ in index.parts), w))
    for i in sorted(index.containing({subject})):
        s = index.sentences[i]
        if subject not in s.subject or not _negates_subject(s, subject):
            continue
        if words - s.stems - s.context:
            return s
    return None
