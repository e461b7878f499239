"""The runtime reads every config once and wires the optional LLM judge per profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.scripted import ScriptedProvider
from triad.ensemble.core import TurnContext
from triad.ensemble.critic import LLMJudge
from triad.errors import UnknownModelError
from triad.knowledge.embedding import Embedder
from triad.knowledge.retrieval import Passage
from triad.providers.base import CompletionRequest
from triad.runtime import build_runtime
from triad.settings import Settings

ANSWER = "We do not serve wagyu beef."


def _with_profile(settings: Settings, tmp_path: Path, judge: str | None) -> Settings:
    config = tmp_path / "ensemble.yaml"
    config.write_text(
        "profiles:\n"
        "  offline:\n"
        '    teacher: {model: "extractive:passages"}\n'
        '    student: {model: "local:smollm2-135m"}\n'
        f"    judge: {json.dumps(judge)}\n"
    )
    return settings.model_copy(update={"ensemble_config": config})


def _verdict(request: CompletionRequest) -> str:
    labels = [label for label in "AB" if f"Answer {label}:" in request.messages[-1].content]
    answers = {label: {"score": 0.9, "unsupported": []} for label in labels}
    return json.dumps({"answers": answers, "winner": labels[0], "rationale": "both grounded"})


async def _retriever(query: str, sources: object) -> tuple[list[Passage], int]:
    text = "We do not serve wagyu beef, sushi, sashimi, raw fish, or alcohol."
    return [
        Passage(chunk_id=1, text=text, source="menu.md", heading_path="", score=1, vector_score=1)
    ], 1


async def test_judge_runs_on_top_of_the_grounded_critic(
    settings: Settings, embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XAI_API_KEY", "test-key-not-real")
    runtime = build_runtime(_with_profile(settings, tmp_path, "xai:grok-2-latest"), embedder)
    runtime.use_provider("xai:grok-2-latest", ScriptedProvider(_verdict, model="grok-test"))
    runtime.use_provider("extractive:passages", ScriptedProvider(ANSWER))
    runtime.use_provider("local:smollm2-135m", ScriptedProvider(ANSWER))
    assert isinstance(runtime.critic_for("menu"), LLMJudge)
    result = await runtime.ensemble.generate_with_consensus(
        "Do you serve wagyu?", TurnContext(retriever=_retriever), "menu", None
    )
    assert result.critic is not None
    assert result.critic.judged_by == ["grounded", "llm:grok-test"]
    assert result.decision == "send"


async def test_judge_without_its_key_falls_back_to_grounded(
    settings: Settings, embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XAI_API_KEY", raising=False)
    runtime = build_runtime(_with_profile(settings, tmp_path, "xai:grok-2-latest"), embedder)
    assert runtime.critic_for("menu") is runtime.critic


def test_unknown_model_in_ensemble_config_is_named(
    settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    with pytest.raises(UnknownModelError, match=r"'openai:gpt-17'.*known models: .*local:smollm2"):
        build_runtime(_with_profile(settings, tmp_path, "openai:gpt-17"), embedder)
