"""Winner and consensus: agreement of grounded answers, a hallucination, one answer, none."""

from __future__ import annotations

import pytest

from triad.ensemble.critic import CriticResult, GroundedCritic
from triad.knowledge.embedding import Embedder

EVIDENCE = [
    "Children (ages 4 to 12): $30 per child. Children under 4 eat free.",
    "A $100 deposit secures the date; it is credited toward the final bill.",
    "The balance is paid on the day of the event, by card or cash.",
]
QUESTION = "How much is the deposit, and how much per kid?"
GROUNDED = "A $100 deposit secures your date. Children ages 4 to 12 are $30 each."
AGREEING = "Kids 4 to 12 cost $30 each, and a $100 deposit holds the date."
HALLUCINATED = "A $150 deposit secures your date. Children ages 4 to 12 are $35 each."


@pytest.fixture(scope="module")
def critic(embedder: Embedder) -> GroundedCritic:
    return GroundedCritic(embed=embedder.embed)


def run(critic: GroundedCritic, answers: dict[str, str]) -> CriticResult:
    return critic.evaluate(QUESTION, answers, EVIDENCE)


def test_two_agreeing_grounded_answers_give_high_consensus(critic: GroundedCritic) -> None:
    result = run(critic, {"teacher": GROUNDED, "student": AGREEING})
    assert all(v.clean for v in result.verdicts.values())
    assert result.agreement is not None and result.agreement > 0.6
    assert result.consensus >= 0.7
    assert result.winner in ("teacher", "student")


def test_the_grounded_answer_beats_a_hallucination_without_staff(
    critic: GroundedCritic,
) -> None:
    """A refuted second answer does not corroborate the winner, but it is a training signal,
    not a reason to escalate: consensus drops below an agreeing pair's, not below 0.7."""
    agreeing = run(critic, {"teacher": GROUNDED, "student": AGREEING})
    for roles in (("teacher", "student"), ("student", "teacher")):
        result = run(critic, {roles[0]: HALLUCINATED, roles[1]: GROUNDED})
        assert result.winner == roles[1]
        assert len(result.verdicts[roles[0]].unsupported_claims) == 2
        assert result.verdicts[roles[1]].score > result.verdicts[roles[0]].score
        assert 0.7 <= result.consensus < agreeing.consensus
        assert "$150" in result.rationale


def test_a_single_answer_is_judged_on_its_own_grounding(critic: GroundedCritic) -> None:
    good = run(critic, {"teacher": GROUNDED})
    bad = run(critic, {"student": HALLUCINATED})
    assert good.winner == "teacher" and bad.winner == "student"
    assert good.agreement is None and bad.agreement is None
    assert good.single_answer and "single answer" in good.rationale
    assert 0.7 <= good.consensus <= 0.75
    assert bad.consensus == 0.0


def test_no_answer_means_no_winner(critic: GroundedCritic) -> None:
    result = run(critic, {"teacher": "", "student": "   "})
    assert result.winner is None
    assert result.verdicts == {}
    assert result.consensus == 0.0


async def test_the_async_wrapper_gives_the_same_verdicts(critic: GroundedCritic) -> None:
    answers = {"teacher": GROUNDED, "student": HALLUCINATED}
    sync = run(critic, answers)
    result = await critic.aevaluate(QUESTION, answers, EVIDENCE)
    assert result.winner == sync.winner == "teacher"
    assert result.verdicts == sync.verdicts
    assert result.latency_ms >= 0
