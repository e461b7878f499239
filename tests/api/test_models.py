"""GET /models shows the registry and which key variables are missing, never a key."""

from __future__ import annotations

import httpx
import pytest

from triad.providers.registry import ModelRegistry
from triad.settings import Settings


async def test_models_lists_registry_and_missing_keys(
    client: httpx.AsyncClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-not-a-real-key")
    response = await client.get("/models")
    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()}
    assert set(rows) == set(ModelRegistry.from_yaml(settings.models_config).ids())
    assert rows["openai:gpt-4o-mini"]["configured"] is False
    assert rows["openai:gpt-4o-mini"]["missing_env"] == "OPENAI_API_KEY"
    assert rows["anthropic:claude-haiku-4-5"]["configured"] is True
    assert rows["local:smollm2-135m"]["configured"] is True
    assert "sk-ant-test-not-a-real-key" not in response.text
