"""LLMJudge: an optional model on top of the grounded checks, never instead of them.

The judge sees the evidence and the answers under shuffled labels (so a position bias cannot
favour one role), must answer with strict JSON, and can only make things stricter: it may
lower a score or flag a claim it quotes exactly, never pass a claim the grounded checks
failed. Any unusable reply falls back to the grounded result, with the reason recorded.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from triad.ensemble.critic.consensus import pick_winner, rationale, with_verdicts
from triad.ensemble.critic.grounded import GroundedCritic
from triad.ensemble.critic.models import AnswerVerdict, ClaimVerdict, CriticResult
from triad.errors import ProviderError
from triad.providers.base import ChatMessage, CompletionRequest, Provider

_JSON_RE = re.compile(r"\{.*\}", re.DOTALL)
SYSTEM = (
    "You are a strict fact checker for a business's customer support. Judge each answer only "
    "against the evidence; anything the evidence does not state is unsupported. Reply with one "
    "JSON object and nothing else."
)
SCHEMA = (
    '{"answers": {"<label>": {"score": <0..1>, "unsupported": ["<exact quote from that '
    'answer>", ...]}, ...}, "winner": "<label>" or null, "rationale": "<one sentence>"}'
)


class JudgedAnswer(BaseModel):
    """The judge's view of one answer."""

    model_config = ConfigDict(extra="forbid")

    score: float = Field(ge=0, le=1)
    unsupported: list[str] = Field(default_factory=list, max_length=20)


class JudgeVerdict(BaseModel):
    """The JSON the judge must return, keyed by the shuffled labels."""

    model_config = ConfigDict(extra="forbid")

    answers: dict[str, JudgedAnswer]
    winner: str | None = None
    rationale: str = Field(default="", max_length=2000)


def parse_verdict(text: str, labels: Sequence[str]) -> JudgeVerdict:
    """The judge's reply as a validated verdict covering exactly `labels`, or ValueError."""
    m = _JSON_RE.search(text)
    if m is None:
        raise ValueError("the reply holds no JSON object")
    try:
        verdict = JudgeVerdict.model_validate(json.loads(m.group(0)))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise ValueError(f"the reply is not a valid verdict: {exc}") from exc
    if set(verdict.answers) != set(labels):
        raise ValueError(f"the verdict labels {sorted(verdict.answers)} are not {list(labels)}")
    if verdict.winner is not None and verdict.winner not in labels:
        raise ValueError(f"the winner '{verdict.winner}' is not one of {list(labels)}")
    return verdict


def _flag(answer: str, verdict: AnswerVerdict, judged: JudgedAnswer) -> AnswerVerdict:
    """The grounded verdict made stricter by the judge: lower score, quoted claims flagged."""
    claims = list(verdict.claims)
    for quote in judged.unsupported:
        quote = quote.strip()
        start = answer.find(quote) if quote else -1
        if start < 0:
            continue
        end = start + len(quote)
        if any(c.failed and c.start < end and start < c.end for c in claims):
            continue
        claims.append(
            ClaimVerdict(
                text=quote, start=start, end=end, status="unsupported",
                reason="the LLM judge found no support for this", support=0.0,
            )
        )  # fmt: skip
    claims.sort(key=lambda c: (c.start, c.end))
    return AnswerVerdict(
        score=round(min(verdict.score, judged.score), 4),
        claims=claims,
        unsupported_claims=[c for c in claims if c.failed],
    )


class LLMJudge:
    """Grounded critic first, then one model call that may only tighten the verdicts."""

    def __init__(
        self,
        provider: Provider,
        critic: GroundedCritic,
        *,
        rng: random.Random | None = None,
        max_tokens: int = 600,
        timeout_s: float = 30.0,
    ) -> None:
        self.provider = provider
        self.critic = critic
        self.rng = rng or random.Random()
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s

    def _request(
        self, question: str, shown: list[tuple[str, str]], evidence: Sequence[str]
    ) -> CompletionRequest:
        lines = [f"[{i}] {e.strip()}" for i, e in enumerate(evidence, 1)]
        blocks = [f"Answer {label}:\n{text}" for label, text in shown]
        user = "\n\n".join(
            [
                "Evidence:\n" + "\n".join(lines),
                f"Customer question:\n{question}",
                *blocks,
                f"Return exactly this JSON shape with labels {[lb for lb, _ in shown]}:\n{SCHEMA}",
            ]
        )
        return CompletionRequest(
            messages=[
                ChatMessage(role="system", content=SYSTEM),
                ChatMessage(role="user", content=user),
            ],
            max_tokens=self.max_tokens,
            temperature=0.0,
            timeout_s=self.timeout_s,
        )

    async def aevaluate(
        self,
        question: str,
        answers: dict[str, str],
        evidence: Sequence[str],
        facts: Sequence[str] = (),
    ) -> CriticResult:
        """The grounded result, tightened by the judge when its reply is usable."""
        started = time.perf_counter()
        grounded = await self.critic.aevaluate(question, answers, evidence, facts)
        roles = list(grounded.verdicts)
        if not roles:
            return grounded
        self.rng.shuffle(roles)
        labels = {chr(ord("A") + i): role for i, role in enumerate(roles)}
        shown = [(label, answers[role]) for label, role in labels.items()]
        try:
            completion = await self.provider.complete(
                self._request(question, shown, [*evidence, *facts])
            )
            verdict = parse_verdict(completion.text, list(labels))
        except (ProviderError, ValueError) as exc:
            note = f" LLM judge not applied ({type(exc).__name__}: {exc}); grounded result kept."
            return grounded.model_copy(update={"rationale": grounded.rationale + note})
        verdicts = {
            role: _flag(answers[role], grounded.verdicts[role], verdict.answers[label])
            for label, role in labels.items()
        }
        winner = pick_winner(verdicts)
        preferred = labels.get(verdict.winner or "")
        tied = [r for r in verdicts if _rank(verdicts[r]) == _rank(verdicts[winner or roles[0]])]
        if preferred in tied and len(tied) > 1:
            winner = preferred
        said = verdict.rationale
        for label, role in labels.items():
            said = re.sub(rf"\b[Aa]nswer {label}\b", role, said)
        result = with_verdicts(grounded, verdicts, winner, self.critic.config, answers)
        return result.model_copy(
            update={
                "rationale": rationale(verdicts, winner, result.agreement)
                + f" LLM judge ({completion.model}): {said}",
                "judged_by": [*grounded.judged_by, f"llm:{completion.model}"],
                "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            }
        )


def _rank(v: AnswerVerdict) -> tuple[int, float]:
    return len(v.unsupported_claims), -v.score
