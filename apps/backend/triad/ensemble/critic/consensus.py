"""Winner, agreement and consensus from the per-answer verdicts.

Two answers that state the same numbers and mean the same thing, both grounded, deserve
trust; agreement alone does not (two models can share a hallucination), so consensus is
capped by the weaker answer's grounding.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

import numpy as np
from numpy.typing import NDArray

from triad.ensemble.critic.facts import extract_facts
from triad.ensemble.critic.models import AnswerVerdict, CriticConfig, CriticResult
from triad.ensemble.critic.text import content_stems, tokens

FLAGGED_GROUNDING = 0.5


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


def grounding(verdict: AnswerVerdict) -> float:
    """How far one answer can be trusted on its own: a clean answer at least one half, raised
    by its score; any failed claim halves it."""
    trust = 0.5 + 0.5 * verdict.score
    return trust * (FLAGGED_GROUNDING if verdict.unsupported_claims else 1.0)


def pick_winner(verdicts: Mapping[str, AnswerVerdict]) -> str | None:
    """The cleanest answer: fewest failed claims, then the highest score; first role on a tie."""
    if not verdicts:
        return None
    return min(verdicts, key=lambda r: (len(verdicts[r].unsupported_claims), -verdicts[r].score))


def agreement(
    answers: Mapping[str, str],
    verdicts: Mapping[str, AnswerVerdict],
    vectors: Mapping[str, NDArray[np.float32]],
    config: CriticConfig,
) -> tuple[float | None, float]:
    """(agreement, consensus) over all pairs of answers; agreement is None for one answer."""
    if not verdicts:
        return None, 0.0
    if len(answers) < 2:
        return None, consensus_of(None, verdicts, config)
    scores = []
    for a, b in combinations(answers, 2):
        if a in vectors and b in vectors:
            meaning = float(np.clip(vectors[a] @ vectors[b], 0.0, 1.0))
        else:
            meaning = lexical_similarity(answers[a], answers[b])
        facts = fact_agreement(answers[a], answers[b])
        w = config.fact_agreement_weight
        scores.append(meaning if facts is None else (1 - w) * meaning + w * facts)
    agree = sum(scores) / len(scores)
    return round(agree, 4), consensus_of(agree, verdicts, config)


def consensus_of(
    agree: float | None, verdicts: Mapping[str, AnswerVerdict], config: CriticConfig
) -> float:
    """Agreement weighed with the weakest answer's grounding; one answer: its grounding."""
    if not verdicts:
        return 0.0
    weakest = min(grounding(v) for v in verdicts.values())
    if len(verdicts) < 2 or agree is None:
        return round(weakest, 4)
    w = config.agreement_weight
    return round(min(1.0, w * agree + (1 - w) * weakest), 4)


def with_verdicts(
    result: CriticResult,
    verdicts: dict[str, AnswerVerdict],
    winner: str | None,
    config: CriticConfig,
) -> CriticResult:
    """The same evaluation with revised verdicts: winner and consensus follow them."""
    return result.model_copy(
        update={
            "verdicts": verdicts,
            "winner": winner,
            "consensus": consensus_of(result.agreement, verdicts, config),
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
        parts.append(head)
    together = "single answer" if agree is None else f"agreement {agree:.2f}"
    parts.append(f"winner: {winner}; {together}")
    return "; ".join(parts) + "."
