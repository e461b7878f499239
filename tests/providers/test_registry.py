"""config/models.yaml and the registry that turns its ids into ready adapters."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.providers.helpers import CHAT_RESPONSE, ask
from tests.support.loopback import LoopbackServer, Reply
from triad.errors import InvalidConfigError, MissingCredentialError, UnknownModelError
from triad.providers import (
    AnthropicProvider,
    ExtractiveProvider,
    LocalProvider,
    ModelRegistry,
    ModelSpec,
    OllamaProvider,
    OpenAIProvider,
)

MODELS_YAML = Path(__file__).resolve().parents[2] / "config" / "models.yaml"
REQUIRED = {
    "openai:gpt-4o-mini",
    "anthropic:claude-3-5-haiku-latest",
    "xai:grok-2-latest",
    "ollama:llama3.1",
    "local:smollm2-135m",
    "extractive:passages",
}


@pytest.fixture
def registry() -> ModelRegistry:
    return ModelRegistry.from_yaml(MODELS_YAML)


def test_the_shipped_registry_loads_with_every_required_model(registry: ModelRegistry) -> None:
    assert set(registry.ids()) >= REQUIRED
    grok = registry.get("xai:grok-2-latest")
    assert (grok.kind, grok.provider, grok.base_url) == ("openai", "xai", "https://api.x.ai/v1")
    assert registry.get("local:smollm2-135m").tier == "local"
    assert all(spec.input_price_per_mtok >= 0 for spec in registry)


def test_unknown_id_names_it_and_lists_the_known_ones(registry: ModelRegistry) -> None:
    with pytest.raises(UnknownModelError) as caught:
        registry.get("openai:gpt-9")
    message = str(caught.value)
    assert "openai:gpt-9" in message
    assert all(model_id in message for model_id in REQUIRED)
    assert set(caught.value.known) == set(registry.ids())


@pytest.mark.parametrize(
    ("model_id", "variable"),
    [
        ("openai:gpt-4o-mini", "OPENAI_API_KEY"),
        ("anthropic:claude-3-5-haiku-latest", "ANTHROPIC_API_KEY"),
        ("xai:grok-2-latest", "XAI_API_KEY"),
    ],
)
def test_missing_key_names_the_variable(
    registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch, model_id: str, variable: str
) -> None:
    monkeypatch.delenv(variable, raising=False)
    with pytest.raises(MissingCredentialError) as caught:
        registry.build(model_id)
    assert caught.value.variable == variable
    assert variable in str(caught.value) and model_id in str(caught.value)


async def test_keys_are_read_at_build_time_and_retries_are_off(
    registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XAI_API_KEY", "xai-test-key")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key")
    grok = registry.build("xai:grok-2-latest")
    claude = registry.build("anthropic:claude-3-5-haiku-latest")
    try:
        assert isinstance(grok, OpenAIProvider) and isinstance(claude, AnthropicProvider)
        assert grok.provider == "xai" and grok.model == "grok-2-latest"
        assert str(grok._client.base_url).startswith("https://api.x.ai/v1")
        assert grok._client.max_retries == 0 and claude._client.max_retries == 0
        assert grok._client.api_key == "xai-test-key"
    finally:
        await grok.aclose()
        await claude.aclose()


async def test_base_url_env_points_ollama_elsewhere(
    registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch, loopback: LoopbackServer
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", loopback.url)
    loopback.enqueue(Reply.json(CHAT_RESPONSE))
    provider = registry.build("ollama:llama3.1")
    try:
        assert isinstance(provider, OllamaProvider)
        done = await provider.complete(ask("What is the deposit?"))
    finally:
        await provider.aclose()
    assert done.provider == "ollama" and done.text.startswith("A $100 deposit")
    assert loopback.requests_to("/api/chat")[0].json()["options"]["num_ctx"] == 8192


def test_local_models_share_one_server_per_gguf(registry: ModelRegistry) -> None:
    first, second = registry.build("local:smollm2-135m"), registry.build("local:smollm2-135m")
    assert isinstance(first, LocalProvider) and isinstance(second, LocalProvider)
    assert first is not second
    assert first.server is second.server
    assert not first.server.running, "built lazily: nothing starts until the first call"
    assert first.needs_network is False


def test_extractive_options_reach_the_adapter(registry: ModelRegistry) -> None:
    provider = registry.build("extractive:passages")
    assert isinstance(provider, ExtractiveProvider)
    assert provider.max_sentences == 3 and provider.min_score == 0.1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("models: [\n  - id: x", "not valid YAML"),
        (
            "models:\n  - id: a:b\n    kind: openai\n    model: m\n    pricee: 1\n",
            "models.0.pricee",
        ),
        ("models:\n  - id: a:b\n    kind: gemini\n    model: m\n", "models.0.kind"),
        ("models:\n  - id: nocolon\n    kind: extractive\n    model: m\n", "models.0.id"),
        ("models:\n  - {id: a:b, kind: openai, model: m}\n", "api_key_env"),
        (
            "models:\n  - {id: a:b, kind: extractive, model: m, local: {n_ctx: 512}}\n",
            "'local' options",
        ),
        (
            "models:\n  - {id: a:b, kind: extractive, model: m}\n  - {id: a:b, kind: extractive, "
            "model: n}\n",
            "defined twice",
        ),
        ("just a string\n", "(top level)"),
    ],
)
def test_bad_files_are_invalid_config_naming_file_and_cause(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidConfigError) as caught:
        ModelRegistry.from_yaml(path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_a_missing_file_is_invalid_config(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfigError, match="cannot read"):
        ModelRegistry.from_yaml(tmp_path / "absent.yaml")


def test_cost_at_list_price(registry: ModelRegistry) -> None:
    mini = registry.get("openai:gpt-4o-mini")
    assert mini.cost_usd(1_000_000, 1_000_000) == pytest.approx(0.75)
    assert mini.cost_usd(1000, 500) == pytest.approx(0.00045)
    assert mini.cost_usd(None, None) == 0.0
    assert registry.get("local:smollm2-135m").cost_usd(10_000, 10_000) == 0.0
    spec = ModelSpec(id="x:y", kind="extractive", model="y", input_price_per_mtok=2.5)
    assert spec.cost_usd(400_000, 123) == pytest.approx(1.0)
