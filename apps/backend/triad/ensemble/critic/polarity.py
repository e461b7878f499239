"""Negation conflicts: a claim offering what the evidence denies, or denying what it states.

"We do not serve wagyu beef" must sink "wagyu is available as an upgrade", and "Warren Bryant
was the CEO" must sink "Warren Bryant was not a CEO"; a denial about something else in the
same sentence ("tax applies to food, not to travel fees") must not sink "the travel fee is $36".
"""

from __future__ import annotations

from triad.ensemble.critic.analysis import ClaimAnalysis
from triad.ensemble.critic.evidence import Sentence
from triad.ensemble.critic.index import EvidenceIndex


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


def affirmed(a: ClaimAnalysis, index: EvidenceIndex) -> Sentence | None:
    """A positive evidence clause stating what a negated claim denies about the same subject."""
    denied_stems = a.negated_stems
    if not denied_stems:
        return None
    others = (a.stems - denied_stems) | a.entity_stems
    for s in index.sentences:
        for c in s.clauses:
            if c.negated or not others & c.stems:
                continue
            hit = denied_stems & c.stems
            if hit == denied_stems or (len(hit) >= 2 and 3 * len(hit) >= 2 * len(denied_stems)):
                return s
    return None


def is_denial(a: ClaimAnalysis) -> bool:
    """True when most of what the claim says sits under its negation ("we don't serve X")."""
    negated = a.negated_stems
    return 0 < len(a.stems | negated) <= 2 * len(negated)


def confirmed(a: ClaimAnalysis, index: EvidenceIndex) -> Sentence | None:
    """An evidence sentence that denies the same thing the claim denies."""
    denied_stems = a.negated_stems
    if not denied_stems:
        return None
    for s in index.sentences:
        for c in s.clauses:
            hit = denied_stems & c.negated_stems
            if hit and 3 * len(hit) >= 2 * len(denied_stems):
                return s
    return None
