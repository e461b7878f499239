"""The send / escalate decision: what the customer receives and whether staff must look.

Only a deliverable answer (every material claim supported by the business's own evidence, see
`AnswerVerdict.deliverable`) reaches a customer without staff. A wrong second answer is a
training signal, not a staff case; staff are asked when nothing is deliverable, when
deliverable answers disagree on a fact, or when the question is outside the knowledge base (an
answer says so: the customer hears that honestly and staff follow up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from triad.ensemble.critic.consensus import disagreement
from triad.ensemble.critic.models import AnswerVerdict, CriticResult

Decision = Literal["send", "send_and_escalate", "hold_and_escalate"]


@dataclass(frozen=True)
class Decided:
    """The reply, the decision, which answer it came from and why staff were asked."""

    reply: str
    decision: Decision
    winner: str | None
    reason: str | None


def decide(
    answers: Mapping[str, str],
    critic: CriticResult | None,
    *,
    threshold: float,
    holding_reply: str,
) -> Decided:
    """Send the deliverable winner; otherwise say what is unknown or hold, and ask staff."""
    if not answers or critic is None or critic.winner is None:
        return Decided(holding_reply, "hold_and_escalate", None, "no model produced an answer")
    verdicts = critic.verdicts
    winner = _stronger(verdicts, critic.winner)
    if not verdicts[winner].deliverable:
        abstaining = [r for r, v in verdicts.items() if v.abstains and not v.unsupported_claims]
        if abstaining:
            reason = "nothing in the knowledge base answers the question"
            return Decided(answers[abstaining[0]], "send_and_escalate", abstaining[0], reason)
        return Decided(holding_reply, "hold_and_escalate", winner, _why_not(critic, winner))
    split = disagreement(verdicts, answers)
    if split is not None:
        return Decided(answers[winner], "send_and_escalate", winner, f"answers disagree: {split}")
    if critic.consensus < threshold:
        reason = f"consensus {critic.consensus:.2f} below threshold {threshold:.2f}"
        return Decided(answers[winner], "send_and_escalate", winner, reason)
    return Decided(answers[winner], "send", winner, None)


STRONGER_ROLE = "teacher"
"""The role of the stronger model (DESIGN.md: the teacher answers, the student learns)."""


def _stronger(verdicts: Mapping[str, AnswerVerdict], winner: str) -> str:
    """The teacher's answer when it is as good as the critic's winner by every check that
    means something (deliverable, no failed claim, addresses the question as completely):
    a few hundredths of score between two such answers are noise, and the student is the
    model still learning ("a party of 22, which is a party of 16" beat "two chefs" on score)."""
    best, teacher = verdicts[winner], verdicts.get(STRONGER_ROLE)
    if winner == STRONGER_ROLE or teacher is None or not teacher.deliverable:
        return winner
    same = not best.unsupported_claims and teacher.addresses >= best.addresses
    return STRONGER_ROLE if same else winner


def _why_not(critic: CriticResult, winner: str) -> str:
    """The best answer's first problem, in words staff can act on."""
    verdict = critic.verdicts[winner]
    if verdict.unsupported_claims:
        claim = verdict.unsupported_claims[0]
        return f"no answer passed the critic's checks ({claim.status}: '{claim.text}')"
    uncovered = next((c for c in verdict.claims if c.uncovered), None)
    if uncovered is not None:
        return f"no answer passed the critic's checks (not covered: '{uncovered.text}')"
    if verdict.repeated:
        return "no answer passed the critic's checks (the best answer repeats itself)"
    return "no answer passed the critic's checks"
