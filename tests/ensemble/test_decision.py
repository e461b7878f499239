"""The decision: only deliverable answers reach a customer alone; what asks staff and why."""

from __future__ import annotations

from triad.ensemble.critic.consensus import agreement, pick_winner
from triad.ensemble.critic.models import (
    AnswerVerdict,
    ClaimStatus,
    ClaimVerdict,
    CriticConfig,
    CriticResult,
)
from triad.ensemble.decision import decide

HOLD = "A team member will reply shortly."
CONFIG = CriticConfig()


def claim(text: str, status: ClaimStatus = "supported", material: bool = True) -> ClaimVerdict:
    return ClaimVerdict(
        text=text, start=0, end=len(text), status=status, reason="test", material=material
    )


def verdict(*claims: ClaimVerdict, addresses: float = 0.8, **extra: object) -> AnswerVerdict:
    failed = [c for c in claims if c.failed]
    return AnswerVerdict(
        score=0.9 if not failed else 0.1,
        claims=list(claims),
        unsupported_claims=failed,
        addresses=addresses,
        **extra,
    )


def judged(answers: dict[str, str], verdicts: dict[str, AnswerVerdict]) -> CriticResult:
    agree, consensus = agreement(answers, verdicts, {}, CONFIG)
    return CriticResult(
        verdicts=verdicts,
        winner=pick_winner(verdicts),
        consensus=consensus,
        agreement=agree,
        rationale="",
        latency_ms=0.0,
    )


def run(answers: dict[str, str], verdicts: dict[str, AnswerVerdict]) -> tuple[str, str | None]:
    d = decide(answers, judged(answers, verdicts), threshold=0.7, holding_reply=HOLD)
    return d.decision, d.winner


def test_a_deliverable_answer_is_sent_when_the_other_is_wrong() -> None:
    answers = {"teacher": "Tofu is vegan.", "student": "We have no vegan options."}
    verdicts = {
        "teacher": verdict(claim("Tofu is vegan.")),
        "student": verdict(claim("We have no vegan options.", "contradicted")),
    }
    assert run(answers, verdicts) == ("send", "teacher")


def test_an_answer_whose_claims_are_all_unverifiable_is_not_deliverable() -> None:
    """The student used to win with four 'unverifiable' denials: unverified is not checked."""
    answers = {"teacher": "Tofu is vegan.", "student": "We do not have vegan options."}
    verdicts = {
        "teacher": verdict(claim("Tofu is vegan.", "unsupported")),
        "student": verdict(claim("We do not have vegan options.", "unverifiable")),
    }
    result = judged(answers, verdicts)
    assert not result.verdicts["student"].deliverable
    assert result.consensus == 0.0
    d = decide(answers, result, threshold=0.7, holding_reply=HOLD)
    assert d.decision == "hold_and_escalate" and d.reply == HOLD


def test_courtesies_need_no_support_but_something_must_be_said() -> None:
    polite = claim("Happy to help!", "unverifiable", material=False)
    assert verdict(polite, claim("Tofu is vegan.")).deliverable
    assert not verdict(polite).deliverable


def test_repetition_and_abstention_are_not_deliverable() -> None:
    assert not verdict(claim("Tofu is vegan."), repeated=1).deliverable
    assert not verdict(claim("I don't know.", "unverifiable", False), abstains=True).deliverable


def test_the_answer_that_addresses_the_question_wins_among_deliverable_ones() -> None:
    answers = {"teacher": "Adults are $60.", "student": "Adults are $60 and kids are $30."}
    verdicts = {
        "teacher": verdict(claim("Adults are $60."), addresses=0.5),
        "student": verdict(claim("Adults are $60 and kids are $30."), addresses=0.9),
    }
    decision, winner = run(answers, verdicts)
    assert winner == "student" and decision == "send"


def test_deliverable_answers_that_disagree_on_a_price_go_to_staff() -> None:
    answers = {"teacher": "Your total is $840.", "student": "Your total is $720."}
    verdicts = {
        "teacher": verdict(claim("Your total is $840.")),
        "student": verdict(claim("Your total is $720."), addresses=0.7),
    }
    result = judged(answers, verdicts)
    assert result.consensus < 0.7
    d = decide(answers, result, threshold=0.7, holding_reply=HOLD)
    assert d.decision == "send_and_escalate" and d.winner == "teacher"
    assert d.reason is not None and "different prices" in d.reason


def test_opposite_yes_and_no_go_to_staff() -> None:
    answers = {"teacher": "Yes, spicy mayo on request.", "student": "No, spicy mayo on request."}
    verdicts = {r: verdict(claim(t)) for r, t in answers.items()}
    decision, _ = run(answers, verdicts)
    assert decision == "send_and_escalate"


def test_agreeing_deliverable_answers_give_the_highest_consensus() -> None:
    answers = {"teacher": "Adults are $60 per person.", "student": "Adults are $60 per person."}
    verdicts = {r: verdict(claim(t)) for r, t in answers.items()}
    result = judged(answers, verdicts)
    assert result.agreement == 1.0 and result.consensus == 1.0


def test_a_single_answer_never_reports_agreement_and_is_capped() -> None:
    answers = {"teacher": "Adults are $60 per person."}
    result = judged(answers, {"teacher": verdict(claim(answers["teacher"]))})
    assert result.single_answer and result.agreement is None
    assert 0.7 <= result.consensus <= 0.75
    d = decide(answers, result, threshold=0.7, holding_reply=HOLD)
    assert d.decision == "send"
    stricter = decide(answers, result, threshold=0.8, holding_reply=HOLD)
    assert stricter.decision == "send_and_escalate"


def test_an_honest_i_do_not_know_is_said_and_escalated() -> None:
    unknown = "I don't have that information in the knowledge base."
    answers = {"teacher": unknown, "student": "Yes, we do pizza."}
    verdicts = {
        "teacher": verdict(claim(unknown, "unverifiable", False), abstains=True, addresses=0.0),
        "student": verdict(claim("Yes, we do pizza.", "unsupported")),
    }
    d = decide(answers, judged(answers, verdicts), threshold=0.7, holding_reply=HOLD)
    assert d.decision == "send_and_escalate" and d.reply == unknown
    assert d.reason == "nothing in the knowledge base answers the question"


def test_no_answer_at_all_holds() -> None:
    d = decide({}, None, threshold=0.7, holding_reply=HOLD)
    assert d.decision == "hold_and_escalate" and d.reply == HOLD and d.winner is None


def test_between_equally_good_answers_the_teacher_is_sent() -> None:
    answers = {"teacher": "A party of 22 gets two chefs.", "student": "A party of 22 has 22."}
    verdicts = {
        "teacher": verdict(claim("A party of 22 gets two chefs.")),
        "student": verdict(claim("A party of 22 has 22.")),
    }
    verdicts["student"] = verdicts["student"].model_copy(update={"score": 0.95})
    assert judged(answers, verdicts).winner == "student"  # the critic's score alone
    assert run(answers, verdicts) == ("send", "teacher")
    # a student answering the question more completely still wins
    verdicts["student"] = verdicts["student"].model_copy(update={"addresses": 1.0})
    assert run(answers, verdicts) == ("send", "student")
