"""Properties bound to the name the evidence says them of, and short answers that fill the
question's gap. The evidence is invented here so no rule can lean on a dev file's words."""

from __future__ import annotations

from triad.ensemble.critic import AnswerVerdict, GroundedCritic

EVIDENCE = (
    "Harbor Lights is a Canadian folk band formed in 2004 in Halifax, Nova Scotia. "
    "Copper Kettle is an American folk band from Denver, Colorado, formed in 2009."
)


def judge(question: str, answer: str) -> AnswerVerdict:
    result = GroundedCritic().evaluate(question, {"answer": answer}, [EVIDENCE])
    return result.verdicts["answer"]


def test_a_property_of_one_name_claimed_of_both_fails() -> None:
    v = judge(
        "Are Harbor Lights and Copper Kettle both American folk bands?",
        "Yes, both Harbor Lights and Copper Kettle are American folk bands.",
    )
    assert v.unsupported_claims
    assert "Harbor Lights" in v.unsupported_claims[0].reason


def test_a_bare_no_is_checked_against_the_question() -> None:
    question = "Are Harbor Lights and Copper Kettle both American folk bands?"
    no, yes = judge(question, "no"), judge(question, "Yes")
    assert no.deliverable and no.addresses == 1.0
    assert [c.status for c in yes.claims] == ["contradicted"]


def test_a_bare_yes_is_supported_when_every_name_has_the_property() -> None:
    v = judge("Are Harbor Lights and Copper Kettle both folk bands?", "Yes.")
    assert v.deliverable
    assert [c.status for c in v.claims] == ["supported"]


def test_a_property_said_of_the_claims_own_name_passes() -> None:
    v = judge("Where is Copper Kettle from?", "Copper Kettle is an American folk band from Denver.")
    assert v.deliverable


def test_a_short_answer_naming_the_option_addresses_the_question() -> None:
    question = "Which band was formed in Halifax, Harbor Lights or Copper Kettle?"
    short = judge(question, "Harbor Lights")
    sentence = judge(question, "Harbor Lights was formed in Halifax.")
    assert short.deliverable
    assert short.addresses == sentence.addresses == 1.0
