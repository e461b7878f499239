"""Claim verdicts a careful reviewer would give, against the demo tenant's real knowledge base.

The evidence is what a live turn gets: the knowledge base's chunks (without their headings)
and the business-rule facts.
"""

from __future__ import annotations

from functools import cache

from triad.agents.rules import load_rules
from triad.ensemble.critic import AnswerVerdict, GroundedCritic
from triad.knowledge.chunking import chunk_markdown
from triad.settings import PROJECT_ROOT

TENANT = PROJECT_ROOT / "tenants" / "demo"


@cache
def evidence() -> tuple[tuple[str, ...], tuple[str, ...]]:
    chunks = [
        c.content
        for path in sorted((TENANT / "knowledge").glob("*.md"))
        for c in chunk_markdown(path.read_text(encoding="utf-8"), source=path.name)
    ]
    return tuple(chunks), tuple(load_rules(TENANT).facts())


def judge(question: str, answer: str) -> AnswerVerdict:
    chunks, facts = evidence()
    return GroundedCritic().evaluate(question, {"answer": answer}, chunks, facts).verdicts["answer"]


def statuses(v: AnswerVerdict) -> list[str]:
    return [c.status for c in v.claims]


def test_the_knowledge_bases_own_list_under_its_heading_is_supported() -> None:
    v = judge(
        "Do you have vegan options?",
        "Standard proteins (included in the per-guest price): Chicken (marinated thigh meat), "
        "Shrimp, NY strip steak, Salmon, Tofu (vegetarian and vegan).",
    )
    assert statuses(v) == ["supported"]
    assert v.deliverable


def test_a_reordered_partial_list_is_supported_and_an_invented_member_is_not() -> None:
    v = judge("What proteins can I pick?", "You can pick Salmon, Tofu, Chicken or Shrimp.")
    assert not v.unsupported_claims
    bad = judge("What proteins can I pick?", "You can pick Salmon, Tofu, Duck or Shrimp.")
    assert bad.unsupported_claims


def test_a_price_list_with_its_heading_is_supported_and_a_changed_price_is_not() -> None:
    right = judge(
        "How much is lobster?",
        "Premium protein upgrades (per plate): Filet mignon: +$5, Scallops: +$5, "
        "Lobster tail: +$15.",
    )
    assert statuses(right) == ["supported"]
    assert statuses(judge("How much is lobster?", "Lobster tail: +$15")) == ["supported"]
    wrong = judge("How much is lobster?", "Filet mignon: +$5, Scallops: +$5, Lobster tail: +$25.")
    assert wrong.unsupported_claims


def test_denying_what_the_evidence_affirms_is_contradicted() -> None:
    vegan = judge("Do you have vegan options?", "We do not have any vegan options.")
    assert statuses(vegan) == ["contradicted"]
    lobster = judge("Can I get lobster?", "No, you cannot. You cannot get lobster.")
    assert statuses(lobster) == ["contradicted", "contradicted"]
    assert not lobster.deliverable


def test_affirming_what_the_evidence_denies_is_contradicted() -> None:
    v = judge("Is gratuity included?", "Yes, gratuity is included.")
    assert statuses(v) == ["contradicted"]
    assert "not added automatically" in v.claims[0].evidence


def test_a_wrong_price_for_the_asked_age_is_contradicted() -> None:
    v = judge("How much for a 10-year-old?", "The price for a 10-year-old is $10.00.")
    assert statuses(v) == ["contradicted"]
    assert "$30" in v.claims[0].evidence
    right = judge("How much for a 10-year-old?", "A 10-year-old is $30 per child.")
    assert statuses(right) == ["supported"]


def test_a_denial_the_evidence_confirms_stays_supported() -> None:
    v = judge("Do you have wagyu?", "We do not serve wagyu beef.")
    assert statuses(v) == ["supported"]
    assert v.deliverable
    booked = judge("Can I book for tomorrow?", "We don't accept same-day or next-day bookings.")
    assert statuses(booked) == ["supported"]


def test_a_claim_the_evidence_does_not_cover_is_not_deliverable() -> None:
    v = judge("Can I pay with Venmo?", "Yes, we accept Venmo for the balance.")
    assert not v.deliverable
    assert v.unsupported_claims


def test_courtesies_and_abstentions_are_not_material() -> None:
    v = judge(
        "Do you have vegan options?",
        "Vegetarian and vegan guests can choose tofu. Would you like a quote? Happy to help!",
    )
    assert [c.material for c in v.claims] == [True, False, False]
    assert v.deliverable
    unknown = judge("Do you do weddings?", "I don't have that information in the knowledge base.")
    assert unknown.abstains and not unknown.deliverable
    assert not any(c.material for c in unknown.claims)


def test_repeated_claims_are_counted() -> None:
    once = "A 20% gratuity is suggested but not required."
    v = judge("Do you add the tip?", f"{once} {once}")
    assert v.repeated == 1
    assert not v.deliverable


def test_a_reply_about_something_else_addresses_the_question_less() -> None:
    on_topic = judge("Do you have vegan options?", "Vegetarian and vegan guests can choose tofu.")
    off_topic = judge("Do you have vegan options?", "A $100 deposit secures the date.")
    assert on_topic.addresses > off_topic.addresses


def test_applying_a_stated_rule_to_the_customers_situation_is_supported() -> None:
    v = judge(
        "Our party is 10 days away, can we still move it?",
        "Rescheduling is free once if requested at least 72 hours before the event, "
        "so with 10 days to go you are comfortably in time.",
    )
    assert statuses(v) == ["supported", "supported"]
    assert v.deliverable


def test_a_consequence_that_grants_something_new_is_not_supported() -> None:
    v = judge(
        "Our party is 10 days away, can we still move it?",
        "Rescheduling is free once if requested at least 72 hours before the event, "
        "so with 10 days to go a second move is complimentary too.",
    )
    assert statuses(v) == ["supported", "unsupported"]


def test_a_denial_needs_evidence_denying_it_about_the_same_subject() -> None:
    # the evidence denies inclusion of the travel fee ("not included in the quote"), never of
    # the food: the words are all there, the statement is not
    wrong = judge(
        "Quote for 12 adults and 4 kids please",
        "The food is not included in the price.",
    )
    assert not wrong.deliverable
    assert wrong.claims[0].status != "supported"
    right = judge("Do you provide dessert?", "We do not provide dessert.")
    assert right.deliverable


def test_a_day_must_be_one_of_the_days_its_rule_names() -> None:
    # the weekday discount names Monday to Thursday; echoing the customer's day is no support
    wrong = judge("Any discount if we book a Sunday?", "Sure, there is a discount on Sundays.")
    assert [c.status for c in wrong.unsupported_claims] == ["contradicted"]
    right = judge(
        "Any discount for 35 guests on a Tuesday?",
        "Yes, a Tuesday event with 35 guests gets 10% off the food total.",
    )
    assert right.deliverable


def test_the_knowledge_bases_own_sentence_is_supported_word_for_word() -> None:
    # a list of places joined with a denial by a semicolon was read as contradicting itself
    v = judge(
        "Do you come out to Reno?",
        "San Francisco, Oakland, San Jose, Reno and Fresno are more than 100 miles away or "
        "outside our service area; we cannot cater events there.",
    )
    assert v.deliverable, [(c.status, c.reason) for c in v.claims]
