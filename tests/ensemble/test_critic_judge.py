"""LLMJudge: shuffled labels mapped back, strict JSON or fallback, never looser than grounded."""

from __future__ import annotations

import json
import random
import re

import pytest

from tests.support.scripted import ScriptedProvider
from triad.ensemble.critic import GroundedCritic, LLMJudge, parse_verdict
from triad.errors import ProviderUnavailableError
from triad.providers.base import CompletionRequest

EVIDENCE = [
    "Children (ages 4 to 12): $30 per child. Children under 4 eat free.",
    "A $100 deposit secures the date; it is credited toward the final bill.",
    "Spicy mayo is available on request.",
]
QUESTION = "What's the deposit, and do you have anything spicy?"
TEACHER = "A $100 deposit secures your date. Spicy mayo is available on request."
STUDENT = "A $100 deposit secures your date. Spicy mayo is available and kids under 4 eat free."
WRONG = "A $150 deposit secures your date."


def shown_order(request: CompletionRequest) -> dict[str, str]:
    """Label -> answer text, as the judge saw them."""
    prompt = request.messages[-1].content
    return dict(re.findall(r"Answer ([A-Z]):\n(.+)", prompt))


def verdict(**answers: dict[str, object]) -> str:
    return json.dumps({"answers": answers, "winner": None, "rationale": "checked"})


def flag_kids(request: CompletionRequest) -> str:
    """A judge that flags the claim about kids under whatever label it was shown."""
    labels = shown_order(request)
    return json.dumps(
        {
            "answers": {
                label: {"score": 0.4, "unsupported": ["kids under 4 eat free"]}
                if "kids" in text
                else {"score": 0.9, "unsupported": []}
                for label, text in labels.items()
            },
            "winner": next(label for label, text in labels.items() if "kids" not in text),
            "rationale": "Answer A and Answer B agree on the deposit.",
        }
    )


async def test_labels_are_shuffled_and_mapped_back_to_roles() -> None:
    orders = set()
    for seed in range(6):
        provider = ScriptedProvider(flag_kids, model="judge-model")
        judge = LLMJudge(provider, GroundedCritic(), rng=random.Random(seed))
        result = await judge.aevaluate(QUESTION, {"teacher": TEACHER, "student": STUDENT}, EVIDENCE)
        orders.add(tuple(shown_order(provider.history[0]).values()))
        flagged = result.verdicts["student"].unsupported_claims
        assert [c.text for c in flagged] == ["kids under 4 eat free"]
        assert STUDENT[flagged[0].start : flagged[0].end] == "kids under 4 eat free"
        assert result.verdicts["teacher"].clean
        assert result.verdicts["student"].score <= 0.4
        assert result.winner == "teacher"
        assert result.judged_by == ["grounded", "llm:judge-model"]
        assert "Answer A" not in result.rationale
    assert orders == {(TEACHER, STUDENT), (STUDENT, TEACHER)}


@pytest.mark.parametrize(
    "reply",
    [
        "I think answer A is better.",
        '{"answers": {"A": {"score": 1.7}}, "winner": "A"}',
        '{"answers": {"A": {"score": 0.5}, "Z": {"score": 0.5}}}',
        ProviderUnavailableError("judge is down"),
    ],
)
async def test_an_unusable_reply_falls_back_to_the_grounded_result(
    reply: str | Exception,
) -> None:
    answers = {"teacher": TEACHER, "student": WRONG}
    grounded = GroundedCritic().evaluate(QUESTION, answers, EVIDENCE)
    judge = LLMJudge(ScriptedProvider(reply), GroundedCritic(), rng=random.Random(1))
    result = await judge.aevaluate(QUESTION, answers, EVIDENCE)
    assert result.verdicts == grounded.verdicts
    assert result.winner == grounded.winner == "teacher"
    assert result.judged_by == ["grounded"]
    assert "LLM judge not applied" in result.rationale


async def test_the_judge_cannot_pass_a_contradicted_claim() -> None:
    def all_perfect(request: CompletionRequest) -> str:
        labels = shown_order(request)
        return verdict(**{label: {"score": 1.0, "unsupported": []} for label in labels})

    answers = {"teacher": WRONG, "student": TEACHER}
    grounded = GroundedCritic().evaluate(QUESTION, answers, EVIDENCE)
    judge = LLMJudge(ScriptedProvider(all_perfect), GroundedCritic(), rng=random.Random(3))
    result = await judge.aevaluate(QUESTION, answers, EVIDENCE)
    failed = result.verdicts["teacher"].unsupported_claims
    assert [c.status for c in failed] == ["contradicted"]
    assert result.verdicts["teacher"].score == grounded.verdicts["teacher"].score
    assert result.winner == "student"


async def test_quotes_that_are_not_in_the_answer_are_ignored() -> None:
    def invented_quote(request: CompletionRequest) -> str:
        labels = shown_order(request)
        return verdict(**{lb: {"score": 0.8, "unsupported": ["free dessert"]} for lb in labels})

    judge = LLMJudge(ScriptedProvider(invented_quote), GroundedCritic(), rng=random.Random(0))
    result = await judge.aevaluate(QUESTION, {"teacher": TEACHER}, EVIDENCE)
    assert result.verdicts["teacher"].clean
    assert result.verdicts["teacher"].score <= 0.8


def test_parse_verdict_reads_json_inside_prose_and_checks_labels() -> None:
    text = 'Sure: {"answers": {"A": {"score": 0.5, "unsupported": []}}, "winner": "A"} done'
    assert parse_verdict(text, ["A"]).winner == "A"
    with pytest.raises(ValueError, match="winner"):
        parse_verdict('{"answers": {"A": {"score": 0.5}}, "winner": "B"}', ["A"])
