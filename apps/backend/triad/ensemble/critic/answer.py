"""Answer-level verdicts: does the answer address the question, abstain, or repeat itself?

A reply made of true sentences about something else ("Can I pay with Venmo?" answered with the
event minimum) is not an answer. How much of the question an answer covers is measured on the
question's content words, each weighted by how specific it is in the evidence (a word most
evidence sentences use says little), and, when the embedder already produced vectors, by
meaning.
"""

from __future__ import annotations

import math
import re

from triad.ensemble.critic.analysis import ClaimAnalysis
from triad.ensemble.critic.binding import answer_to
from triad.ensemble.critic.evidence import fact_token
from triad.ensemble.critic.index import EvidenceIndex
from triad.ensemble.critic.models import ClaimVerdict

REPEAT_OVERLAP = 0.8
STEPS = 4
FULL = 2.0
"""An answer stating or answering half of the question's weighted terms addresses it fully:
the rest are usually the customer's own circumstances, which a reply need not repeat."""
"""Coverage is reported in quarters: a finer lexical difference says nothing about which of
two answers is the better reply, and must not outrank how well each is grounded."""


_VERB_RE = re.compile(
    r"\b(?:is|are|was|were|be|been|being|am|has|have|had|do|does|did|can|could|will|would|"
    r"shall|should|may|might|must|we|you|i|it|they|he|she|there)\b|'s\b|n't\b",
    re.IGNORECASE,
)
FRAGMENT_WORDS = 8


def elliptical(a: ClaimAnalysis) -> bool:
    """A short answer without a verb ("Arthur's Magazine", "1988", "Yes"): it answers the
    question by filling its gap, so the question's own words are what it says."""
    return len(a.toks) <= FRAGMENT_WORDS and not _VERB_RE.search(a.span.text)


def _placed(a: ClaimAnalysis, index: EvidenceIndex) -> bool:
    """The fragment is one the question names, or the evidence states it next to one of the
    question's words: it fills the question's gap rather than changing the subject."""
    words = said(a)
    if not words:
        return False
    if words <= index.question_terms | index.question_stems:
        return True
    asked = index.question_stems - words
    hits = index.containing(words)
    hits.update(i for w in words for i, _ in index.places(w))
    return any(asked & (index.sentences[i].stems | index.sentences[i].context) for i in hits)


def said(a: ClaimAnalysis) -> frozenset[str]:
    """Everything a claim states: content stems, names and typed values."""
    return frozenset(a.stems | a.entity_stems | {fact_token(f) for f in a.facts})


def repeats(analyses: list[ClaimAnalysis], verdicts: list[ClaimVerdict]) -> int:
    """Material claims whose content an earlier claim of the same answer already stated."""
    seen: list[frozenset[str]] = []
    count = 0
    for a, v in zip(analyses, verdicts, strict=True):
        words = said(a)
        if not v.material or not words:
            continue
        if any(len(words & w) >= REPEAT_OVERLAP * max(len(words), len(w)) for w in seen):
            count += 1
        seen.append(words)
    return count


def _weight(w: str, index: EvidenceIndex) -> float:
    n = max(1, len(index.sentences))
    df = sum(p.df.get(w, 0) for p, _ in index.parts)
    return 1.0 + math.log((n + 1) / (df + 1))


def addresses(
    analyses: list[ClaimAnalysis],
    verdicts: list[ClaimVerdict],
    index: EvidenceIndex,
    meaning: float | None = None,
) -> float:
    """0..1: the specificity-weighted share of the question's terms the material claims
    state or answer (a word the claims add stands next to the term in the evidence),
    blended with the answer's cosine to the question when one was computed."""
    material = [a for a, v in zip(analyses, verdicts, strict=True) if v.material]
    if not material:
        return 0.0
    if len(material) == 1 and elliptical(material[0]):
        a = material[0]
        if a.affirms or a.refuses:
            return 1.0 if answer_to(index) is not None else 0.0
        if _placed(a, index):
            return 1.0
    asked = {w for w in index.question_terms if not w.startswith("#")}
    values = [f for f in index.question_facts]
    stated = frozenset().union(*(said(a) for a in material))
    if not asked and not values:
        lexical = 1.0
    else:
        new = stated - index.question_terms
        near = {w for w in asked if any(new & (index.sentences[i].stems | index.sentences[i].words)
                                        for i in index.containing({w}))}  # fmt: skip
        total = sum(_weight(w, index) for w in asked) + len(values)
        hit = sum(_weight(w, index) for w in asked if w in stated or w in near)
        hit += sum(1 for q in values if any(q.same_value(f) for a in material for f in a.facts))
        lexical = hit / total if total else 1.0
    if meaning is not None:
        lexical = 0.5 * lexical + 0.5 * max(0.0, min(1.0, meaning))
    return round(min(1.0, FULL * lexical) * STEPS) / STEPS
