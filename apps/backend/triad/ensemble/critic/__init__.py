"""The critic: every claim of every answer checked against the business's own evidence."""

from triad.ensemble.critic.claims import ClaimSpan, split_claims
from triad.ensemble.critic.facts import Fact, extract_facts
from triad.ensemble.critic.grounded import GroundedCritic
from triad.ensemble.critic.judge import JudgedAnswer, JudgeVerdict, LLMJudge, parse_verdict
from triad.ensemble.critic.models import (
    AnswerVerdict,
    ClaimStatus,
    ClaimVerdict,
    CriticConfig,
    CriticResult,
)

__all__ = [
    "AnswerVerdict",
    "ClaimSpan",
    "ClaimStatus",
    "ClaimVerdict",
    "CriticConfig",
    "CriticResult",
    "Fact",
    "GroundedCritic",
    "JudgeVerdict",
    "JudgedAnswer",
    "LLMJudge",
    "extract_facts",
    "parse_verdict",
    "split_claims",
]
