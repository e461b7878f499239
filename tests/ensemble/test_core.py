"""LLMEnsemble: parallel answers, per-role timeouts, failures, and the send/escalate decision."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests.support.scripted import ScriptedProvider
from triad.agents.rules import BusinessRules, load_rules
from triad.ensemble.config import EnsembleConfig, Profile, RoleConfig
from triad.ensemble.core import LLMEnsemble, TurnContext, unsaid
from triad.ensemble.critic import GroundedCritic
from triad.errors import InputError, ProviderUnavailableError
from triad.knowledge.embedding import Embedder
from triad.knowledge.retrieval import Passage
from triad.providers.base import Provider
from triad.settings import Settings

NOT_ON_MENU = (
    "We do not serve wagyu beef, sushi, sashimi, raw fish, or alcohol. We do not provide dessert."
)
PROTEINS = "Chicken (marinated thigh meat), shrimp, NY strip steak, salmon and tofu."
GROUNDED = (
    "We do not serve wagyu beef. You can choose chicken, shrimp, NY strip steak, salmon or tofu."
)
HALLUCINATED = "Yes, we serve wagyu beef for $20 extra per plate."


@pytest.fixture(scope="module")
def rules(settings: Settings) -> BusinessRules:
    return load_rules(settings.tenant_dir)


@pytest.fixture(scope="module")
def critic(embedder: Embedder) -> GroundedCritic:
    return GroundedCritic(embed=embedder.embed)


def _config(timeout_s: float = 5.0) -> EnsembleConfig:
    role = RoleConfig(model="teacher:model", timeout_s=timeout_s)
    return EnsembleConfig(
        profiles={
            "test": Profile(
                teacher=role, student=role.model_copy(update={"model": "student:model"})
            )
        },
        profile="test",
    )


def _ensemble(
    rules: BusinessRules,
    critic: GroundedCritic,
    teacher: Provider,
    student: Provider,
    timeout_s: float = 5.0,
) -> LLMEnsemble:
    providers = {"teacher:model": teacher, "student:model": student}
    return LLMEnsemble(
        config=_config(timeout_s),
        rules=rules,
        critic=critic,
        provider_factory=lambda model_id, key: providers[model_id],
        cost=lambda model, i, o: 0.001,
    )


async def _retriever(query: str, sources: Sequence[str]) -> tuple[list[Passage], int]:
    texts = [("Not on the menu", NOT_ON_MENU), ("Standard proteins", PROTEINS)]
    passages = [
        Passage(chunk_id=i, text=t, source="menu.md", heading_path=h, score=0.03, vector_score=0.5)
        for i, (h, t) in enumerate(texts, 1)
    ]
    return passages, 7


CONTEXT = TurnContext(retriever=_retriever)


async def test_clean_agreeing_answers_are_sent(
    rules: BusinessRules, critic: GroundedCritic
) -> None:
    teacher, student = ScriptedProvider(GROUNDED), ScriptedProvider(GROUNDED)
    result = await _ensemble(rules, critic, teacher, student).generate_with_consensus(
        "Do you serve wagyu beef?", CONTEXT, "menu", "u1"
    )
    assert result.decision == "send"
    assert result.reply == GROUNDED
    assert result.critic is not None and result.critic.consensus >= 0.7
    assert result.knowledge_version == 7
    assert result.prompt_version.startswith("menu.v1-")
    assert [o.cost_usd for o in result.outcomes] == [0.001, 0.001]
    system = teacher.history[0].messages[0]
    assert system.role == "system" and "Ember & Tide Hibachi" in system.content
    assert NOT_ON_MENU in system.content


async def test_a_wrong_student_is_a_training_signal_not_a_staff_case(
    rules: BusinessRules, critic: GroundedCritic
) -> None:
    result = await _ensemble(
        rules, critic, ScriptedProvider(GROUNDED), ScriptedProvider(HALLUCINATED)
    ).generate_with_consensus("Do you serve wagyu beef?", CONTEXT, "menu", None)
    assert result.winner == "teacher"
    assert result.reply == GROUNDED
    assert result.critic is not None
    assert result.critic.verdicts["student"].unsupported_claims
    assert result.decision == "send"
    assert result.escalation_reason is None
    assert 0.7 <= result.critic.consensus < 0.85


async def test_no_clean_answer_gets_holding_reply(
    rules: BusinessRules, critic: GroundedCritic
) -> None:
    ensemble = _ensemble(
        rules, critic, ScriptedProvider(HALLUCINATED), ScriptedProvider(HALLUCINATED)
    )
    result = await ensemble.generate_with_consensus("Wagyu?", CONTEXT, "menu", None)
    assert result.decision == "hold_and_escalate"
    assert result.reply == ensemble.config.holding_reply
    assert "wagyu" not in result.reply.lower()


async def test_one_failure_leaves_the_other_answer_judged_alone(
    rules: BusinessRules, critic: GroundedCritic
) -> None:
    failing = ScriptedProvider(ProviderUnavailableError("503 from upstream"))
    result = await _ensemble(
        rules, critic, failing, ScriptedProvider(GROUNDED)
    ).generate_with_consensus("Do you serve wagyu beef?", CONTEXT, "menu", None)
    teacher = result.outcomes[0]
    assert teacher.completion is None and teacher.error_type == "ProviderUnavailableError"
    assert result.critic is not None and set(result.critic.verdicts) == {"student"}
    assert result.winner == "student" and result.reply == GROUNDED
    assert result.critic.single_answer and result.critic.agreement is None
    assert result.critic.consensus < 0.8
    assert "single answer" in result.critic.rationale


async def test_both_failing_never_raises(rules: BusinessRules, critic: GroundedCritic) -> None:
    down = ProviderUnavailableError("down")
    ensemble = _ensemble(rules, critic, ScriptedProvider(down), ScriptedProvider(down))
    result = await ensemble.generate_with_consensus("Wagyu?", CONTEXT, "menu", None)
    assert result.decision == "hold_and_escalate"
    assert result.reply == ensemble.config.holding_reply
    assert result.critic is None
    assert result.escalation_reason == "no model produced an answer"


async def test_each_role_has_its_own_timeout(rules: BusinessRules, critic: GroundedCritic) -> None:
    slow = ScriptedProvider(GROUNDED, delay_s=5)
    result = await _ensemble(
        rules, critic, slow, ScriptedProvider(GROUNDED), timeout_s=0.2
    ).generate_with_consensus("Do you serve wagyu beef?", CONTEXT, "menu", None)
    assert result.outcomes[0].error_type == "ProviderTimeoutError"
    assert result.winner == "student"


async def test_teacher_and_student_run_concurrently(
    rules: BusinessRules, critic: GroundedCritic
) -> None:
    """Each waits for the other to have started: sequential calls would time out."""
    first, second = ScriptedProvider(GROUNDED), ScriptedProvider(GROUNDED)
    first.gate, second.gate = second.started, first.started
    result = await _ensemble(rules, critic, first, second).generate_with_consensus(
        "Do you serve wagyu beef?", CONTEXT, "menu", None
    )
    assert all(o.ok for o in result.outcomes)


async def test_pricing_question_gets_a_computed_quote(
    rules: BusinessRules, critic: GroundedCritic
) -> None:
    teacher = ScriptedProvider("For 20 adults the food is $1,200.00.")
    result = await _ensemble(
        rules, critic, teacher, ScriptedProvider("20 adults are $1,200.00 before tax.")
    ).generate_with_consensus("How much for 20 adults?", CONTEXT, "pricing", None)
    assert result.quote is not None
    assert any("1,200.00" in fact for fact in result.facts)
    assert "1,200.00" in teacher.history[0].messages[0].content


async def test_unknown_agent_is_input_error(rules: BusinessRules, critic: GroundedCritic) -> None:
    ensemble = _ensemble(rules, critic, ScriptedProvider("x"), ScriptedProvider("x"))
    with pytest.raises(InputError, match="unknown agent 'astrology'"):
        await ensemble.generate_with_consensus("hi", CONTEXT, "astrology", None)


def test_booking_notes_never_repeat_what_the_reply_says() -> None:
    reply = "Events can start between 11:00 AM and 8:00 PM; 10:00 AM is outside that window."
    notes = [
        "To book, we still need the date and address. "
        "Events can start between 11:00 AM and 8:00 PM; 10:00 AM is outside that window.",
        "Oakland is outside our service area.",
    ]
    assert unsaid(notes, reply) == [
        "To book, we still need the date and address.",
        "Oakland is outside our service area.",
    ]
    assert (
        unsaid(["Oakland is outside our service area."], "Oakland is outside our service area.")
        == []
    )
    assert unsaid([], reply) == []
