"""Winner, agreement and consensus from the per-answer verdicts.

`consensus` (0..1; the design's escalation threshold is 0.7) measures how far the reply the
customer receives can be trusted without staff, not how alike two answers are: agreement with
a student that is nearly always wrong said nothing about the teacher's answer, and sent every
turn to staff. It is

- 0 when no answer is deliverable (every material claim supported, see `AnswerVerdict`);
- for a deliverable winner, 0.7 plus up to 0.3 for what corroborates it:
  another deliverable answer that agrees (0.85..1.0, by how alike they are),
  another answer that was checked and refuted (0.8: the critic told right from wrong),
  no other answer at all because a role failed (0.75: nothing corroborates it);
- below the threshold (0.35..0.65) when two deliverable answers disagree on a fact (opposite
  yes/no, or no stated price in common), so staff settle it.

Agreement (meaning and typed-fact overlap) is reported for two or more answers, and None for
one: a single answer never reports agreement 1.00.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import combinations

import numpy as np
from numpy.typing import NDArray

from triad.ensemble.critic.facts import extract_facts
from triad.ensemble.critic.models import AnswerVerdict, CriticConfig, CriticResult
from triad.ensemble.critic.text import content_stems, tokens

CORROBORATED = 0.85
REFUTED_OTHER = 0.8
SINGLE_ANSWER = 0.75
CONFLICT_BASE = 0.35
_YES_RE = re.compile(r"^\W*(?:yes|yep|yeah|sure|absolutely|of course|certainly)\b", re.I)
_NO_RE = re.compile(r"^\W*(?:no|nope|sorry|unfortunately)\b", re.I)


def lexical_similarity(a: str, b: str) -> float:
    """Jaccard overlap of content stems: the meaning proxy when there are no embeddings."""
    x, y = content_stems(tokens(a)), content_stems(tokens(b))
    if not x and not y:
        return 1.0
    return len(x & y) / len(x | y)


def fact_agreement(a: str, b: str) -> float | None:
    """Jaccard overlap of the typed facts two answers state; None when neither states any."""
    x = {f.key for f in extract_facts(a)}
    y = {f.key for f in extract_facts(b)}
    if not x and not y:
        return None
    return len(x & y) / len(x | y)


def polarity(text: str) -> int:
    """+1 for a reply opening with yes, -1 with no, 0 otherwise."""
    return 1 if _YES_RE.match(text) else -1 if _NO_RE.match(text) else 0


def conflict(a: str, b: str) -> str | None:
    """Why two answers disagree on a fact: opposite yes/no, or no stated price in common."""
    pa, pb = polarity(a), polarity(b)
    if pa * pb < 0:
        return "one answer says yes and the other no"
    money_a = {f.key for f in extract_facts(a) if f.kind == "money"}
    money_b = {f.key for f in extract_facts(b) if f.kind == "money"}
    if money_a and money_b and not money_a & money_b:
        return "the answers state different prices"
    return None


def _rank(v: AnswerVerdict) -> tuple[bool, int, float, float]:
    return (not v.deliverable, len(v.unsupported_claims), -v.addresses, -v.score)


def pick_winner(verdicts: Mapping[str, AnswerVerdict]) -> str | None:
    """A deliverable answer first, then the fewest failed claims (so a terse true answer beats
    a wordy wrong one), then the one addressing the question most completely, then the highest
    score; the first role on a tie."""
    if not verdicts:
        return None
    return min(verdicts, key=lambda r: _rank(verdicts[r]))


def _meaning(
    a: str, b: str, answers: Mapping[str, str], vectors: Mapping[str, NDArray[np.float32]]
) -> float:
    if a in vectors and b in vectors:
        return float(np.clip(vectors[a] @ vectors[b], 0.0, 1.0))
    return lexical_similarity(answers[a], answers[b])


def agreement(
    answers: Mapping[str, str],
    verdicts: Mapping[str, AnswerVerdict],
    vectors: Mapping[str, NDArray[np.float32]],
    config: CriticConfig,
) -> tuple[float | None, float]:
    """(agreement, consensus): agreement over all pairs of answers, None for fewer than two."""
    if len(answers) < 2 or len(verdicts) < 2:
        return None, consensus_of(None, verdicts, config, answers)
    scores = []
    for a, b in combinations(answers, 2):
        facts = fact_agreement(answers[a], answers[b])
        w = config.fact_agreement_weight
        meaning = _meaning(a, b, answers, vectors)
        scores.append(meaning if facts is None else (1 - w) * meaning + w * facts)
    agree = round(sum(scores) / len(scores), 4)
    return agree, consensus_of(agree, verdicts, config, answers)


def consensus_of(
    agree: float | None,
    verdicts: Mapping[str, AnswerVerdict],
    config: CriticConfig,
    answers: Mapping[str, str] | None = None,
) -> float:
    """How far the winner can be sent without staff (the scale is in the module docstring)."""
    winner = pick_winner(verdicts)
    if winner is None or not verdicts[winner].deliverable:
        return 0.0
    others = [r for r in verdicts if r != winner]
    if not others:
        return SINGLE_ANSWER
    alike = 0.0 if agree is None else agree
    backing = [r for r in others if verdicts[r].deliverable]
    if not backing:
        return REFUTED_OTHER
    if answers is not None and any(
        r in answers and winner in answers and conflict(answers[winner], answers[r])
        for r in backing
    ):
        return round(CONFLICT_BASE + 0.3 * alike, 4)
    return round(CORROBORATED + (1 - CORROBORATED) * alike, 4)


def disagreement(verdicts: Mapping[str, AnswerVerdict], answers: Mapping[str, str]) -> str | None:
    """Why deliverable answers disagree on a fact, or None."""
    ready = [r for r in verdicts if verdicts[r].deliverable and r in answers]
    for a, b in combinations(ready, 2):
        why = conflict(answers[a], answers[b])
        if why:
            return why
    return None


def with_verdicts(
    result: CriticResult,
    verdicts: dict[str, AnswerVerdict],
    winner: str | None,
    config: CriticConfig,
    answers: Mapping[str, str] | None = None,
) -> CriticResult:
    """The same evaluation with revised verdicts: winner and consensus follow them."""
    return result.model_copy(
        update={
            "verdicts": verdicts,
            "winner": winner,
            "consensus": consensus_of(result.agreement, verdicts, config, answers),
        }
    )


def rationale(
    verdicts: Mapping[str, AnswerVerdict], winner: str | None, agree: float | None
) -> str:
    """One readable paragraph: per answer what failed, the winner and the agreement."""
    if not verdicts:
        return "No answer to judge."
    parts = []
    for role, v in verdicts.items():
        failed = v.unsupported_claims
        head = f"{role}: {len(v.claims)} claims, score {v.score:.2f}"
        if failed:
            worst = failed[0]
            head += f", {len(failed)} failed ({worst.status}: '{worst.text}' - {worst.reason})"
        elif v.abstains:
            head += ", says it cannot answer"
        elif not v.deliverable:
            head += ", not deliverable"
        parts.append(head)
    together = "single answer" if agree is None else f"agreement {agree:.2f}"
    parts.append(f"winner: {winner}; {together}")
    return "; ".join(parts) + "."
