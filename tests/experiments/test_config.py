"""config/experiments.yaml: shares, arms and models are checked at start, naming the mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from triad.agents.rules import load_rules
from triad.errors import InvalidConfigError
from triad.experiments.config import ExperimentsConfig
from triad.experiments.store import load_checked
from triad.providers.registry import ModelRegistry
from triad.settings import Settings

SETTINGS = Settings()
REGISTRY = ModelRegistry.from_yaml(SETTINGS.models_config, environ={})
AGENTS = set(load_rules(SETTINGS.tenant_dir).agents)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "experiments.yaml"
    path.write_text(text, encoding="utf-8")
    return path


AB = """
experiments:
  - key: {key}
    target_kind: agent
    target: {target}
    arms:
      - {{name: control, share: {a}}}
      - {{name: bigger, share: {b}, student_model: "{model}"}}
"""


def ab(key: str = "menu-ab", target: str = "menu", a: float = 50, b: float = 50,
       model: str = "anthropic:claude-haiku-4-5") -> str:  # fmt: skip
    return AB.format(key=key, target=target, a=a, b=b, model=model)


def test_the_shipped_config_is_valid_and_starts_as_a_draft_canary() -> None:
    config = load_checked(SETTINGS.experiments_config, REGISTRY, AGENTS)
    assert config.experiments, "ship at least one example experiment"
    assert all(e.kind == "canary" for e in config.experiments)


def test_shares_must_sum_to_100_and_the_error_names_the_experiment(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfigError) as caught:
        ExperimentsConfig.from_yaml(write(tmp_path, ab(key="lopsided", a=60, b=30)))
    assert "experiment 'lopsided'" in str(caught.value)
    assert "sum to 90%" in str(caught.value)


def test_fractional_percent_shares_are_basis_points(tmp_path: Path) -> None:
    config = ExperimentsConfig.from_yaml(write(tmp_path, ab(a=99.5, b=0.5)))
    assert [a.share for a in config.experiments[0].arms] == [99.5, 0.5]


def test_an_unknown_model_is_named_with_the_known_ones(tmp_path: Path) -> None:
    config = ExperimentsConfig.from_yaml(write(tmp_path, ab(model="openai:gpt-9")))
    with pytest.raises(InvalidConfigError) as caught:
        config.check(REGISTRY, AGENTS)
    message = str(caught.value)
    assert "experiment 'menu-ab'" in message and "'openai:gpt-9'" in message
    assert "local:smollm2-135m" in message


def test_an_unknown_agent_or_prompt_version_is_refused(tmp_path: Path) -> None:
    config = ExperimentsConfig.from_yaml(write(tmp_path, ab(target="weather")))
    with pytest.raises(InvalidConfigError, match="unknown agent 'weather'"):
        config.check(REGISTRY, AGENTS)
    text = ab().replace('student_model: "anthropic:claude-haiku-4-5"', "prompt_version: 9")
    config = ExperimentsConfig.from_yaml(write(tmp_path, text))
    with pytest.raises(InvalidConfigError, match="no prompt version 9"):
        config.check(REGISTRY, AGENTS)


def test_a_canary_takes_its_shares_from_its_steps(tmp_path: Path) -> None:
    text = """
experiments:
  - key: can
    kind: canary
    target_kind: task_type
    target: summarize
    arms:
      - {name: baseline, share: 99}
      - {name: canary, share: 1, model: "openai:gpt-4o-mini"}
"""
    with pytest.raises(InvalidConfigError, match=r"shares come from canary\.steps"):
        ExperimentsConfig.from_yaml(write(tmp_path, text))
    text = text.replace(", share: 99", "").replace(", share: 1", "")
    bad_steps = text + "    canary: {steps: [5, 1]}\n"
    with pytest.raises(InvalidConfigError, match="strictly increase"):
        ExperimentsConfig.from_yaml(write(tmp_path, bad_steps))
    assert ExperimentsConfig.from_yaml(write(tmp_path, text)).experiments[0].canary_settings


def test_task_type_arms_choose_a_model_not_roles(tmp_path: Path) -> None:
    text = """
experiments:
  - key: tt
    target_kind: task_type
    target: summarize
    arms:
      - {name: a, share: 50}
      - {name: b, share: 50, student_model: "openai:gpt-4o-mini"}
"""
    with pytest.raises(InvalidConfigError, match="task_type experiments only choose `model`"):
        ExperimentsConfig.from_yaml(write(tmp_path, text))


def test_duplicate_keys_and_arm_names_are_refused(tmp_path: Path) -> None:
    twice = ab() + ab().replace("experiments:\n", "")
    with pytest.raises(InvalidConfigError, match="unique: menu-ab"):
        ExperimentsConfig.from_yaml(write(tmp_path, twice))
    same_names = ab().replace("name: bigger", "name: control")
    with pytest.raises(InvalidConfigError, match="arm names must be unique"):
        ExperimentsConfig.from_yaml(write(tmp_path, same_names))


def test_the_minimum_detectable_effect_is_at_most_half(tmp_path: Path) -> None:
    text = ab().replace("target_kind: agent", "min_detectable_effect: 0.6\n    target_kind: agent")
    with pytest.raises(InvalidConfigError, match="min_detectable_effect"):
        ExperimentsConfig.from_yaml(write(tmp_path, text))
    half = ExperimentsConfig.from_yaml(write(tmp_path, text.replace("0.6", "0.5")))
    assert half.experiments[0].min_detectable_effect == 0.5


def roles_of(agent: str) -> tuple[str, str]:
    return "openai:gpt-4o-mini", "local:smollm2-135m"


def test_an_arm_may_not_make_one_model_teacher_and_student(tmp_path: Path) -> None:
    student_is_teacher = ExperimentsConfig.from_yaml(
        write(tmp_path, ab(model="openai:gpt-4o-mini"))
    )
    with pytest.raises(InvalidConfigError) as caught:
        student_is_teacher.check(REGISTRY, AGENTS, roles_of)
    assert str(caught.value) == (
        "experiment 'menu-ab', arm 'bigger': student_model 'openai:gpt-4o-mini' is also the "
        "teacher of agent 'menu'; teacher and student must be different models"
    )
    text = (
        ab()
        .replace("student_model:", "teacher_model:")
        .replace("anthropic:claude-haiku-4-5", "local:smollm2-135m")
    )
    teacher_is_student = ExperimentsConfig.from_yaml(write(tmp_path, text))
    with pytest.raises(InvalidConfigError, match="teacher_model 'local:smollm2-135m' is also the"):
        teacher_is_student.check(REGISTRY, AGENTS, roles_of)
    ExperimentsConfig.from_yaml(write(tmp_path, ab())).check(REGISTRY, AGENTS, roles_of)
    both = ab().replace(
        'student_model: "anthropic:claude-haiku-4-5"',
        'student_model: "openai:gpt-4o-mini", teacher_model: "openai:gpt-4o-mini"',
    )
    with pytest.raises(InvalidConfigError, match="both teacher and student"):
        ExperimentsConfig.from_yaml(write(tmp_path, both))
