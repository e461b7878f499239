"""Grounded checks: wrong numbers, arithmetic, invented items, negations, places, semantics."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from numpy.typing import NDArray

from triad.ensemble.critic import AnswerVerdict, ClaimVerdict, CriticConfig, GroundedCritic
from triad.knowledge.embedding import Embedder

EVIDENCE = [
    "Adults (13 and older): $60 per person. Children (ages 4 to 12): $30 per child. "
    "Children under 4 eat free.",
    "Gyoza (6 pieces) is an add-on at $10 per order. Edamame is an add-on at $5 per order.",
    "We do not serve wagyu beef, sushi or alcohol.",
    "Events can start between 11:00 AM and 8:00 PM, seven days a week.",
    "The chef arrives 30 minutes before the start time to set up.",
    "Sacramento, Davis and Folsom are in the free 30-mile zone.",
    "San Francisco and Oakland are outside our service area; we cannot cater events there.",
    "The balance is paid on the day of the event, by card or cash.",
]
FACTS = ["Rescheduling is free once if requested at least 72 hours before the event."]


def judge(answer: str, question: str = "Tell me about your catering.") -> AnswerVerdict:
    result = GroundedCritic().evaluate(question, {"answer": answer}, EVIDENCE, FACTS)
    return result.verdicts["answer"]


def claim(verdict: AnswerVerdict, fragment: str) -> ClaimVerdict:
    return next(c for c in verdict.claims if fragment in c.text)


def test_a_wrong_price_is_contradicted_with_the_evidence_that_says_otherwise() -> None:
    v = judge("Children ages 4 to 12 are $35 per child.", "How much per kid?")
    c = claim(v, "$35")
    assert c.status == "contradicted"
    assert "$30" in c.evidence
    assert v.unsupported_claims == [c]


def test_a_correct_price_is_supported() -> None:
    v = judge("Children ages 4 to 12 are $30 per child.", "How much per kid?")
    assert v.unsupported_claims == []
    assert claim(v, "$30").status == "supported"


def test_arithmetic_from_question_and_answer_numbers() -> None:
    question = "How much would 3 orders of gyoza and 2 orders of edamame be?"
    working = "Gyoza is $10 per order and edamame is $5 per order, so 3 gyoza and 2 edamame"
    right = judge(f"{working} come to $40.", question)
    wrong = judge(f"{working} come to $45.", question)
    assert right.unsupported_claims == []
    assert "=" in claim(right, "$40").reason
    assert [c.text for c in wrong.unsupported_claims] == ["3 gyoza and 2 edamame come to $45."]


def test_times_derived_from_the_question() -> None:
    question = "If our party starts at 6pm, when does the chef get here?"
    right = judge("The chef arrives 30 minutes before the start, so around 5:30 PM.", question)
    wrong = judge("The chef arrives 30 minutes before the start, so around 5:15 PM.", question)
    assert right.unsupported_claims == []
    assert wrong.unsupported_claims and "5:15 PM" in wrong.unsupported_claims[0].text


def test_an_invented_menu_item_is_unsupported() -> None:
    v = judge("You can add gyoza for $10 per order or our house chili-garlic oil on the side.")
    assert [c.status for c in v.claims] == ["unsupported"]
    assert "chili-garlic" in v.claims[0].reason
    named = judge("You can choose tofu or our plant-based Impossible steak.")
    assert named.unsupported_claims and "Impossible" in named.unsupported_claims[0].reason


def test_a_denied_item_contradicts_an_offer() -> None:
    v = judge("Sure, we can do wagyu for the adults.", "Can we upgrade to wagyu?")
    assert v.claims[0].status == "contradicted"
    assert "wagyu" in v.claims[0].evidence
    denial = judge("We don't serve wagyu beef.", "Can we upgrade to wagyu?")
    assert denial.unsupported_claims == []


def test_places_outside_the_evidence_are_unsupported() -> None:
    v = judge("Yes, we cover Fresno for a small travel fee.", "Do you come to Fresno?")
    assert v.unsupported_claims and "Fresno" in v.unsupported_claims[0].reason
    listed = judge("Our free 30-mile zone covers Sacramento, Davis, Folsom and Oakland.")
    assert listed.unsupported_claims and "Oakland" in listed.unsupported_claims[0].reason


def test_a_fully_grounded_answer_has_no_unsupported_claims() -> None:
    v = judge(
        "Events can start between 11:00 AM and 8:00 PM, seven days a week, and the chef "
        "arrives 30 minutes before the start time. Children under 4 eat free.",
        "When can events start?",
    )
    assert v.unsupported_claims == []
    assert all(c.status == "supported" for c in v.claims)
    assert v.score > 0.6


def test_a_promise_the_evidence_never_makes_is_unsupported() -> None:
    v = judge(
        "Rescheduling is free as many times as you need if requested 72 hours before.",
        "Can I move my party?",
    )
    assert v.claims[0].status == "unsupported"
    assert "many" in v.claims[0].reason


class CountingEmbedder:
    """Wraps the real embedder and records which texts reached the model."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.seen: list[str] = []

    def __call__(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.seen.extend(texts)
        return self.embedder.embed(texts)


def test_semantic_support_excuses_a_close_paraphrase_only(embedder: Embedder) -> None:
    paraphrase = "The remaining balance is paid on the day of the event by card or cash."
    assert judge(paraphrase).unsupported_claims
    counting = CountingEmbedder(embedder)
    critic = GroundedCritic(embed=counting)
    result = critic.evaluate("How do I pay?", {"answer": paraphrase}, EVIDENCE, FACTS)
    assert result.verdicts["answer"].unsupported_claims == []
    invented = "The remaining balance is paid on the day of the event by card or bitcoin."
    again = critic.evaluate("How do I pay?", {"answer": invented}, EVIDENCE, FACTS)
    assert again.verdicts["answer"].unsupported_claims
    assert counting.seen.count(EVIDENCE[-1]) == 1


def test_always_mode_embeds_every_claim_in_one_batch(embedder: Embedder) -> None:
    calls: list[int] = []

    def embed(texts: Sequence[str]) -> NDArray[np.float32]:
        calls.append(len(texts))
        return embedder.embed(texts)

    critic = GroundedCritic(embed=embed, config=CriticConfig(semantic_mode="always"))
    answers = {"teacher": "Gyoza is $10 per order.", "student": "Edamame is $5 per order."}
    critic.evaluate("What are the add-ons?", answers, EVIDENCE, FACTS)
    assert len(calls) == 1
    critic.evaluate("What are the add-ons?", answers, EVIDENCE, FACTS)
    assert len(calls) == 1


def test_config_rejects_unknown_fields() -> None:
    with pytest.raises(ValueError, match="extra"):
        CriticConfig.model_validate({"semantic_support": 0.5, "surprise": 1})
