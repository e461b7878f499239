"""The grounded verdict on one claim: facts, negations, names, then words and meaning.

Order matters: a contradiction (a different number, a denied item) beats everything; a
missing number, name or item makes a claim unsupported; a claim with nothing concrete in it
(a promise, a policy) must be close to the evidence in meaning and add no new words.
"""

from __future__ import annotations

from dataclasses import dataclass

from triad.ensemble.critic.analysis import SCOPE_WORDS, ClaimAnalysis
from triad.ensemble.critic.index import EvidenceIndex
from triad.ensemble.critic.models import ClaimStatus, ClaimVerdict, CriticConfig
from triad.ensemble.critic.numbers import FactVerdict
from triad.ensemble.critic.polarity import affirmed, confirmed, denied, is_denial
from triad.ensemble.critic.support import (
    coverage,
    mentioned_with,
    novel_words,
    relevance,
    unscoped,
)

Outcome = tuple[ClaimVerdict, bool]
SNIPPET = 300


@dataclass(frozen=True, slots=True)
class Semantic:
    """The best cosine of a claim against the evidence sentences, and that sentence."""

    similarity: float
    sentence: str


def _verdict(
    a: ClaimAnalysis, status: ClaimStatus, reason: str, evidence: str = "", support: float = 0.0
) -> ClaimVerdict:
    return ClaimVerdict(
        text=a.span.text,
        start=a.span.start,
        end=a.span.end,
        status=status,
        reason=reason,
        evidence=evidence if len(evidence) <= SNIPPET else evidence[: SNIPPET - 1] + "\u2026",
        support=round(max(0.0, min(1.0, support)), 4),
    )


def _contradiction(
    a: ClaimAnalysis, facts: list[FactVerdict], index: EvidenceIndex, rare_df: int, first: bool
) -> ClaimVerdict | None:
    for v in facts:
        if v.status == "contradicted":
            return _verdict(a, "contradicted", v.reason, v.evidence)
    about = a.stems | a.entity_stems
    opposite = denied(a.positive_stems, about, index, rare_df)
    if opposite is None and a.affirms and first:
        opposite = denied(set(index.question_stems), about, index, rare_df)
    if opposite is not None:
        return _verdict(a, "contradicted", "the evidence says the opposite", opposite.text)
    contrary = affirmed(a, index)
    if contrary is not None:
        return _verdict(a, "contradicted", "denies what the evidence states", contrary.text)
    return None


def _missing(
    a: ClaimAnalysis, facts: list[FactVerdict], index: EvidenceIndex, support: float
) -> ClaimVerdict | None:
    for v in facts:
        if v.status == "unsupported":
            return _verdict(a, "unsupported", v.reason, support=support * 0.5)
    positive = a.positive_stems
    for e in a.entities:
        if e.negated:
            continue
        if not all(index.knows_word(w) for w in e.words):
            reason = f"'{e.text}' does not appear in the evidence or the question"
            return _verdict(a, "unsupported", reason, support=support * 0.5)
        if positive and not mentioned_with(e.words, positive, index):
            reason = f"the evidence never says this about '{e.text}'"
            return _verdict(a, "unsupported", reason, support=support * 0.5)
    return None


def check_claim(
    a: ClaimAnalysis,
    facts: list[FactVerdict],
    index: EvidenceIndex,
    semantic: Semantic | None,
    config: CriticConfig,
    first: bool = False,
) -> Outcome:
    """One claim's verdict (`facts` are the verdicts of `a.facts`, in order), and whether a
    semantic similarity, not given yet, could still turn it into a pass."""
    cover, cover_text = coverage(a.positive_stems, index)
    sim = semantic.similarity if semantic else 0.0
    support = max(cover, sim)
    failed = _contradiction(a, facts, index, config.rare_df, first) or _missing(
        a, facts, index, support
    )
    if failed is not None:
        return failed, False
    best_text = semantic.sentence if semantic and sim >= cover else cover_text
    concrete = bool(a.facts or a.entities)
    if not concrete and not a.positive_stems:
        same = confirmed(a, index)
        if same is not None:
            return _verdict(a, "supported", "the evidence denies it too", same.text, 1.0), False
        why = "denies something the evidence does not mention" if a.scopes else "nothing to check"
        return _verdict(a, "unverifiable", why, best_text, support), False
    if a.smalltalk and not concrete:
        return _verdict(a, "unverifiable", "a courtesy or a request", support=support), False
    out_of_scope = unscoped(a, index)
    if out_of_scope:
        reason = f"says '{out_of_scope}' where the evidence does not say it about this"
        return _verdict(a, "unsupported", reason, best_text, support * 0.5), False
    denial = is_denial(a)
    novel = novel_words(a, index)
    anchored = denial or any(v.anchored for v in facts)
    tolerance = config.novel_tolerance + (config.anchored_novel_tolerance if anchored else 0)
    strong = [w for w in novel if "-" in w or w in SCOPE_WORDS]
    if strong or len(novel) > tolerance:
        excusable = not strong and len(novel) <= tolerance + config.semantic_excuse_words
        if not (excusable and semantic is not None and sim >= config.novel_semantic_support):
            reason = f"adds what the evidence does not say: {', '.join((strong or novel)[:4])}"
            verdict = _verdict(a, "unsupported", reason, best_text, support * 0.5)
            return verdict, excusable and semantic is None
    if not concrete and not denial:
        close = semantic is not None and sim >= config.semantic_support
        if not close and cover < config.lexical_support - 1e-9:
            verdict = _verdict(
                a, "unsupported", "no evidence sentence says this", best_text, support
            )
            return verdict, semantic is None
    reasons = "; ".join(v.reason for v in facts) or "its words and names are in the evidence"
    w = config.relevance_weight
    blended = (1 - w) * support + w * relevance(a, index)
    return _verdict(a, "supported", reasons, best_text, blended), False
