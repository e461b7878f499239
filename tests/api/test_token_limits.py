"""`max_tokens` on /llm/complete and /v1: defaulted, and capped by the model that answers."""

from __future__ import annotations

import httpx
import pytest

from tests.support.scripted import ScriptedProvider
from triad.api.token_limits import DEFAULT_MAX_TOKENS
from triad.runtime import Runtime

LOCAL = "local:smollm2-135m"


pytestmark = pytest.mark.usefixtures("keyed")


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "XAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def local(runtime: Runtime) -> ScriptedProvider:
    scripted = ScriptedProvider("Paris.")
    runtime.use_provider(LOCAL, scripted)
    return scripted


def local_cap(runtime: Runtime) -> int:
    cap = runtime.registry.get(LOCAL).max_output_tokens
    assert cap is not None and cap < DEFAULT_MAX_TOKENS
    return cap


async def test_llm_complete_caps_a_missing_or_large_max_tokens_at_the_models_limit(
    client: httpx.AsyncClient, runtime: Runtime, local: ScriptedProvider
) -> None:
    for n, extra in enumerate(({}, {"max_tokens": 4000}, {"max_tokens": 12})):
        body = {"task_type": "qa", "prompt": f"Capital of France? ({n})"}  # no cache hits
        response = await client.post("/llm/complete", json=body | extra)
        assert response.status_code == 200, response.text
    assert [r.max_tokens for r in local.history] == [local_cap(runtime), local_cap(runtime), 12]


async def test_v1_without_max_tokens_gets_a_bounded_answer(
    client: httpx.AsyncClient, runtime: Runtime, local: ScriptedProvider
) -> None:
    for n, extra in enumerate(({}, {"max_tokens": 30_000})):
        messages = [{"role": "user", "content": f"Capital of France? ({n})"}]
        response = await client.post(
            "/v1/chat/completions", json={"model": LOCAL, "messages": messages} | extra
        )
        assert response.status_code == 200, response.text
    assert [r.max_tokens for r in local.history] == [local_cap(runtime)] * 2
