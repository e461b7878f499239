"""Agent selection and versioned prompt templates."""

from __future__ import annotations

import pytest

from triad.agents.prompts import load_template
from triad.agents.rules import BusinessRules
from triad.agents.selector import AgentSelector
from triad.errors import InvalidConfigError
from triad.knowledge.embedding import Embedder


@pytest.fixture(scope="module")
def selector(rules: BusinessRules, embedder: Embedder) -> AgentSelector:
    return AgentSelector(rules.agents, embed=embedder.embed)


@pytest.mark.parametrize(
    ("message", "agent"),
    [
        ("How much would it cost for 20 adults?", "pricing"),
        ("What's the travel fee to Stockton?", "pricing"),
        ("Do you have vegan options?", "menu"),
        ("Do you serve wagyu beef?", "menu"),
        ("Can I book a party for next Saturday at 6pm?", "booking"),
        ("What happens if I cancel a week before?", "booking"),
    ],
)
def test_keywords_pick_the_agent(selector: AgentSelector, message: str, agent: str) -> None:
    assert selector.select(message).agent == agent


def test_embeddings_decide_when_keywords_are_silent(selector: AgentSelector) -> None:
    choice = selector.select("Could the grill chef bring noodles along?")
    assert choice.agent in selector.names
    silent = selector.select("zzz qqq")
    assert silent.method == "embedding"
    assert set(silent.scores) == set(selector.names)


def test_prompt_versions_change_with_lessons() -> None:
    template = load_template("menu")
    plain = template.version_id()
    assert plain.startswith("menu.v1-") and plain == template.version_id([])
    with_lesson = template.version_id(["Never offer wagyu."])
    assert with_lesson.startswith(plain + "+L")
    assert with_lesson != template.version_id(["Never offer sushi."])


def test_prompt_renders_facts_passages_and_lessons() -> None:
    text = load_template("pricing").render(
        business_name="Acme Grill",
        facts=["Total: $1,299.00."],
        passages=["A $100 deposit secures the date."],
        lessons=["Quote the deposit as $100."],
    )
    assert "Acme Grill" in text
    assert "- Total: $1,299.00." in text
    assert "A $100 deposit secures the date." in text
    assert "- Quote the deposit as $100." in text


def test_unknown_template_is_a_config_error() -> None:
    with pytest.raises(InvalidConfigError, match="astrology"):
        load_template("astrology")
    with pytest.raises(InvalidConfigError, match="available"):
        load_template("menu", version=99)
