"""The routing YAML: strict schema, every model id checked against the registry, route lookup."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.routing.helpers import ANTHROPIC, LOCAL, OPENAI, REGISTRY, routing
from triad.errors import InvalidConfigError, UnknownModelError
from triad.routing.config import RoutingConfig
from triad.routing.types import RouteKey
from triad.settings import Settings


def test_the_shipped_config_loads_and_names_only_registry_models() -> None:
    config = RoutingConfig.from_yaml(Settings().routing_config)
    config.check_models(REGISTRY)
    assert config.breaker.failure_ratio == 0.5 and config.breaker.min_calls == 20
    assert config.breaker.open_s == 5 and config.breaker.enabled
    assert config.breaker.for_model(LOCAL).open_s == 10, "per-model open period"
    assert config.retry.hedge_after_s == 4 and config.retry.for_model(LOCAL).hedge_after_s is None
    assert config.role_priority == {"teacher": "high", "student": "medium"}
    assert config.degraded_disclaimer.strip()


def test_unknown_model_is_named_with_the_known_ones() -> None:
    config = routing(fallbacks={OPENAI: ["openai:gpt-17"]})
    with pytest.raises(UnknownModelError, match=r"'openai:gpt-17'.*known models: .*local:smollm2"):
        config.check_models(REGISTRY)


@pytest.mark.parametrize(
    ("yaml_text", "complaint"),
    [
        ("routes:\n  default: {low: [a:b], medium: [a:b], high: [a:b]}\nretries: {}\n", "retries"),
        ("routes:\n  default: {low: [a:b], medium: [a:b]}\n", "missing ['high']"),
        ("routes:\n  default: {low: [a:b], medium: [a:b], high: []}\n", "default"),
        ("routes:\n  default: {low: [a:b], medium: [a:b], urgent: [a:b]}\n", "urgent"),
        (
            "routes:\n  default: {low: [a:b], medium: [a:b], high: [a:b]}\n"
            "breaker: {failures: 5, cooldown: 10}\n",
            "cooldown",
        ),
        (
            "routes:\n  default: {low: [a:b], medium: [a:b], high: [a:b]}\n"
            "breaker: {open_s: 120}\n",
            "max_open_s",
        ),
        (
            "routes:\n  default: {low: [a:b], medium: [a:b], high: [a:b]}\n"
            "breaker: {models: {'a:b': {failure_ratio: 1.5}}}\n",
            "failure_ratio",
        ),
        (
            "routes:\n  default: {low: [a:b], medium: [a:b], high: [a:b]}\n"
            "breaker: {models: {'a:b': {open_s: 600}}}\n",
            "models.a:b",
        ),
        (
            "routes:\n  default: {low: [a:b], medium: [a:b], high: [a:b]}\n"
            "retry: {models: {'a:b': {deadline_s: 5}}}\n",
            "deadline_s",
        ),
        ("routes: [\n", "cannot read"),
    ],
)
def test_bad_files_fail_at_startup_naming_the_problem(
    tmp_path: Path, yaml_text: str, complaint: str
) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(yaml_text)
    with pytest.raises(InvalidConfigError, match="routing config") as caught:
        RoutingConfig.from_yaml(path)
    assert complaint in str(caught.value)


def test_lookup_goes_from_the_most_specific_name_to_default() -> None:
    config = routing()
    key = RouteKey(task_type="chat.menu", role="teacher")
    assert list(config.lookup_names(key)) == [
        "chat.menu.teacher",
        "chat.menu",
        "chat.teacher",
        "chat",
        "default.teacher",
        "default",
    ]
    assert list(config.lookup_names(RouteKey(task_type="qa"))) == ["qa", "default"]


def test_a_route_without_the_priority_defers_to_a_more_general_one() -> None:
    config = routing(
        routes={
            "default": {p: [LOCAL] for p in ("low", "medium", "high")},
            "chat": {"high": [ANTHROPIC]},
            "chat.menu.teacher": {"high": [OPENAI]},
        }
    )
    teacher = RouteKey(task_type="chat.menu", role="teacher", priority="high")
    assert config.route_for(teacher) == ("chat.menu.teacher", [OPENAI])
    student = RouteKey(task_type="chat.menu", role="student", priority="high")
    assert config.route_for(student) == ("chat", [ANTHROPIC])
    low = RouteKey(task_type="chat.menu", role="teacher", priority="low")
    assert config.route_for(low) == ("default", [LOCAL])


def test_role_priority_applies_only_to_roles() -> None:
    config = routing(role_priority={"teacher": "high"})
    assert config.priority_for("teacher") == "high"
    assert config.priority_for("student", "low") == "low"
    assert config.priority_for(None) == "medium"
