"""The grounded verdict on one claim: facts, negations, names, then words and meaning.

Order matters: a contradiction (a different number, a denied item) beats everything; a
missing number, name or item makes a claim unsupported; a claim with nothing concrete in it
(a promise, a policy) must be close to the evidence in meaning and add no new words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from triad.ensemble.critic.analysis import PROMISE_WORDS, ClaimAnalysis
from triad.ensemble.critic.binding import answer_to, names_of, question_names, swapped
from triad.ensemble.critic.index import EvidenceIndex
from triad.ensemble.critic.lists import check_list
from triad.ensemble.critic.models import ClaimStatus, ClaimVerdict, CriticConfig
from triad.ensemble.critic.numbers import FactVerdict
from triad.ensemble.critic.polarity import (
    affirmed,
    confirmed,
    denied,
    is_denial,
    negated_about,
    negates,
    stated,
)
from triad.ensemble.critic.support import (
    coverage,
    mentioned_with,
    novel_words,
    relevance,
    unscoped,
)
from triad.ensemble.critic.text import EXISTENCE

Outcome = tuple[ClaimVerdict, bool]
SNIPPET = 300


@dataclass(frozen=True, slots=True)
class Semantic:
    """The best cosine of a claim against the evidence sentences, and that sentence."""

    similarity: float
    sentence: str


def _verdict(
    a: ClaimAnalysis,
    status: ClaimStatus,
    reason: str,
    evidence: str = "",
    support: float = 0.0,
    material: bool = True,
) -> ClaimVerdict:
    failed = status in ("unsupported", "contradicted")
    return ClaimVerdict(
        material=failed or (material and not (a.question or a.abstains)),
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
    if first and (a.affirms or a.refuses):
        answered = answer_to(index)
        if answered is not None and answered[0] != a.affirms:
            return _verdict(a, "contradicted", answered[1])
    if confirmed(a, index) is None:
        contrary = affirmed(a, index)
        if contrary is not None:
            return _verdict(a, "contradicted", "denies what the evidence states", contrary.text)
    return None


def _particle(a: ClaimAnalysis, index: EvidenceIndex) -> ClaimVerdict:
    """A bare "Yes" or "No" answers the question's own claim: judged by what the evidence
    says of the names the question asks about, else a "No" as a denial of the question."""
    answered = answer_to(index)
    if answered is not None:
        agrees, why = answered
        status: ClaimStatus = "supported" if agrees == a.affirms else "contradicted"
        return _verdict(a, status, why, support=float(status == "supported"))
    if a.affirms:
        return _verdict(a, "unverifiable", "nothing to check", material=False)
    return _refusal(a, index)


def _refusal(a: ClaimAnalysis, index: EvidenceIndex) -> ClaimVerdict:
    """A bare "No" denies what the question asks: contradicted when the evidence states it,
    supported when the evidence denies it too, otherwise only an answer particle."""
    asked = set(index.question_stems) - EXISTENCE
    same = negates(asked, index)
    if same is not None:
        return _verdict(a, "supported", "the evidence denies it too", same.text, 1.0)
    contrary = stated(asked, set(), index)
    if contrary is not None:
        return _verdict(a, "contradicted", "denies what the evidence states", contrary.text)
    return _verdict(a, "unverifiable", "an answer particle", material=False)


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
    names, cut = names_of([e for e in a.entities if not e.negated], index)
    asked, _ = names_of(question_names(index.question_text), index)
    swap = swapped(names, (positive | cut) - a.entity_stems, index, asked)
    if names and swap is not None:
        reason = f"the evidence says '{swap.word}' of '{swap.other}', not of '{swap.name}'"
        return _verdict(a, "unsupported", reason, support=support * 0.5)
    return None


def _applies(
    a: ClaimAnalysis,
    novel: list[str],
    facts: list[FactVerdict],
    index: EvidenceIndex,
    config: CriticConfig,
) -> bool:
    """A consequence drawn from a supported rule about the customer's own situation ("so
    with two weeks to go you're well within that window"): it speaks of what the question
    says, every value it states checks out, and what it adds is at most a couple of words
    of judgement, none of them granting anything (no "free", "complimentary", "refund")."""
    about_question = bool(a.stems & index.question_stems) or any(
        any(f.same_value(q) for q in index.question_facts) for f in a.facts
    )
    granting = [t for t in a.content if t.lower in PROMISE_WORDS and not a.negated_at(t.start)]
    return (
        about_question
        and not granting
        and all(v.status == "supported" for v in facts)
        and not any("-" in w for w in novel)
        and len(novel) <= config.anchored_novel_tolerance
    )


def check_claim(
    a: ClaimAnalysis,
    facts: list[FactVerdict],
    index: EvidenceIndex,
    semantic: Semantic | None,
    config: CriticConfig,
    first: bool = False,
    premise: bool = False,
) -> Outcome:
    """One claim's verdict (`facts` are the verdicts of `a.facts`, in order), and whether a
    semantic similarity, not given yet, could still turn it into a pass. `premise`: the claim
    draws a consequence ("so ...") from a supported claim just before it."""
    quoted = verbatim(a, index)
    if quoted is not None:
        return _verdict(a, "supported", "the evidence says this word for word", quoted, 1.0), False
    listed = check_list(a, index)
    if listed is not None and listed.status != "unsupported":
        status: ClaimStatus = "supported" if listed.status == "supported" else "contradicted"
        verdict = _verdict(a, status, listed.reason, listed.evidence, float(status == "supported"))
        return verdict, False
    cover, cover_text = coverage(a.positive_stems, index)
    sim = semantic.similarity if semantic else 0.0
    support = max(cover, sim)
    concrete = bool(a.facts or a.entities)
    bare = not concrete and not a.stems and not a.negated_stems
    if (a.refuses or a.affirms) and first and bare:
        return _particle(a, index), False
    failed = _contradiction(a, facts, index, config.rare_df, first) or _missing(
        a, facts, index, support
    )
    if failed is not None:
        return failed, False
    if listed is not None:
        return _verdict(a, "unsupported", listed.reason, support=support * 0.5), False
    best_text = semantic.sentence if semantic and sim >= cover else cover_text
    if not concrete and not a.positive_stems:
        same = confirmed(a, index)
        if same is not None:
            return _verdict(a, "supported", "the evidence denies it too", same.text, 1.0), False
        if a.abstains or a.question or not a.scopes:
            why = "says it cannot answer" if a.abstains else "nothing to check"
            return _verdict(a, "unverifiable", why, best_text, support, material=False), False
        why = "denies something the evidence does not mention"
        return _verdict(a, "unverifiable", why, best_text, support), False
    if (a.smalltalk or a.question or a.abstains) and not concrete:
        why = "a courtesy, a question or a request"
        return _verdict(a, "unverifiable", why, support=support, material=False), False
    if not concrete:
        single, _ = coverage(a.positive_stems, index, 1)
        opposite = negated_about(a, index) if single < 1 else None
        if opposite is not None:
            reason = "the evidence says otherwise about this"
            return _verdict(a, "contradicted", reason, opposite.text), False
    out_of_scope = unscoped(a, index)
    if out_of_scope:
        reason = f"says '{out_of_scope}' where the evidence does not say it about this"
        return _verdict(a, "unsupported", reason, best_text, support * 0.5), False
    denial = is_denial(a)
    novel = novel_words(a, index)
    applied = premise and _applies(a, novel, facts, index, config)
    anchored = denial or any(v.anchored for v in facts)
    tolerance = config.novel_tolerance + (config.anchored_novel_tolerance if anchored else 0)
    strong = [w for w in novel if "-" in w or w in PROMISE_WORDS]
    if (strong or len(novel) > tolerance) and not applied:
        excusable = not strong and len(novel) <= tolerance + config.semantic_excuse_words
        if not (excusable and semantic is not None and sim >= config.novel_semantic_support):
            reason = f"adds what the evidence does not say: {', '.join((strong or novel)[:4])}"
            verdict = _verdict(a, "unsupported", reason, best_text, support * 0.5)
            return verdict, excusable and semantic is None
    if not concrete and not denial and not applied:
        close = semantic is not None and sim >= config.semantic_support
        if not close and cover < config.lexical_support - 1e-9:
            verdict = _verdict(
                a, "unsupported", "no evidence sentence says this", best_text, support
            )
            return verdict, semantic is None
    if denial and not facts and not applied:
        subject = a.positive_stems - EXISTENCE
        same = confirmed(a, index)
        if subject and (same is None or not subject & (same.stems | same.context)):
            # "The food is not included in the price" beside "the travel fee is not included":
            # a denial is supported only by evidence denying it about the same subject.
            why = "denies something the evidence does not say about this"
            return _verdict(a, "unverifiable", why, best_text, support), False
    reasons = "; ".join(v.reason for v in facts) or "its words and names are in the evidence"
    if applied and not facts and (novel or cover < config.lexical_support - 1e-9):
        reasons = "applies the rule just stated to the customer's situation"
    w = config.relevance_weight
    blended = (1 - w) * support + w * relevance(a, index)
    return _verdict(a, "supported", reasons, best_text, blended), False


_PUNCT = re.compile(r"[^\w$%.,]+")


@lru_cache(maxsize=65536)
def _plain(text: str) -> str:
    return _PUNCT.sub(" ", text.lower()).strip(" .,")


def verbatim(a: ClaimAnalysis, index: EvidenceIndex) -> str | None:
    """The evidence sentence the claim repeats word for word, whole or one of its parts
    between semicolons (the knowledge base's own sentences are never unsupported); None when
    the claim says anything else."""
    claim = _plain(a.span.text)
    if len(claim.split()) < 3:
        return None
    for s in index.sentences:
        parts = [s.text, *s.text.split(";")] if ";" in s.text else [s.text]
        if any(_plain(p) == claim for p in parts):
            return s.text
    return None
