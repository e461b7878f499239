"""Lexical support measures: how much of a claim the evidence holds, and where.

These replace a language model's judgement with counting: the share of a claim's words the
best few evidence sentences hold, words found nowhere, promise words used out of context, and
how close the claim's new words sit to the question's words in the evidence.
"""

from __future__ import annotations

from triad.ensemble.critic.analysis import SCOPE_WORDS, ClaimAnalysis
from triad.ensemble.critic.evidence import fact_token
from triad.ensemble.critic.index import EvidenceIndex

COVER_SENTENCES = 3
WINDOW = 6


def mentioned_with(words: tuple[str, ...], stems: set[str], index: EvidenceIndex) -> bool:
    """True when some evidence sentence, or another item of its list, names the entity
    together with one of `stems`."""
    for i in index.containing(stems):
        for j in index.siblings(i):
            if all(w in index.sentences[j].words for w in words):
                return True
    return False


def coverage(stems: set[str], index: EvidenceIndex, sentences: int = COVER_SENTENCES
             ) -> tuple[float, str]:  # fmt: skip
    """Share of `stems` the best few evidence sentences hold together, and the best one."""
    if not stems:
        return 1.0, ""
    left, best_text = set(stems), ""
    candidates = [index.sentences[i] for i in sorted(index.containing(stems))]
    for _ in range(sentences):
        best, gain = None, 0
        for s in candidates:
            g = len(left & (s.stems | s.context))
            if g > gain:
                best, gain = s, g
        if best is None:
            break
        best_text = best_text or best.text
        left -= best.stems | best.context
    return 1 - len(left) / len(stems), best_text


def relevance(a: ClaimAnalysis, index: EvidenceIndex) -> float:
    """How closely what the claim adds to the question sits next to the question's own words
    in the evidence: the answer to a question is found where the question's terms are."""
    said = a.stems | a.entity_stems | {fact_token(f) for f in a.facts}
    new = (said - index.question_terms) or said
    asked = index.question_terms - said
    if not new or not asked:
        return 0.0
    best = dict.fromkeys(new, 0.0)
    for w in new:
        for i, p in index.places(w):
            seq = index.sentences[i].seq
            near = sum(
                1 / abs(j - p)
                for j in range(max(0, p - WINDOW), min(len(seq), p + WINDOW + 1))
                if j != p and seq[j] in asked
            )
            best[w] = max(best[w], near)
    return sum(h / (h + 1) for h in best.values()) / len(best)


def unscoped(a: ClaimAnalysis, index: EvidenceIndex) -> str | None:
    """A scope or promise word ("free", "every", "guarantee") the claim asserts that no
    evidence sentence uses about any of the claim's other words."""
    for t in a.content:
        if t.lower not in SCOPE_WORDS or a.negated_at(t.start):
            continue
        others = (a.stems | a.entity_stems | {fact_token(f) for f in a.facts}) - {t.stem}
        near = index.containing(others)
        near.update(i for w in others for i, _ in index.places(w))
        if not any(t.lower in index.sentences[i].plain for i in near):
            return t.lower
    return None


def novel_words(a: ClaimAnalysis, index: EvidenceIndex) -> list[str]:
    """Asserted words found nowhere in the evidence or the question."""
    return sorted(
        {
            t.lower
            for t in a.content
            if not a.negated_at(t.start)
            and not index.knows_stem(t.stem)
            and not index.knows_word(t.lower)
        }
    )
