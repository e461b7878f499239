"""POST /llm/complete: routed by task and priority, falling back, every attempt recorded."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.scripted import ScriptedProvider
from triad.db.models import ProviderCall
from triad.errors import ProviderUnavailableError
from triad.runtime import Runtime


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "XAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)


async def test_missing_keys_fall_back_to_the_local_model(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession
) -> None:
    runtime.use_provider("local:smollm2-135m", ScriptedProvider("Paris."))
    response = await client.post(
        "/llm/complete",
        json={
            "task_type": "qa",
            "prompt": "Capital of France?",
            "priority": "high",
            "user_id": "b1",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"] == "Paris." and body["model"] == "local:smollm2-135m"
    assert [a["outcome"] for a in body["attempts"]] == ["skipped", "skipped", "ok"]
    assert "OPENAI_API_KEY" in body["attempts"][0]["error"]
    rows = (await session.scalars(select(ProviderCall).order_by(ProviderCall.id))).all()
    assert [(r.provider, r.outcome) for r in rows] == [
        ("openai", "skipped"),
        ("anthropic", "skipped"),
        ("local", "ok"),
    ]
    assert rows[-1].user_id == "b1" and rows[-1].task_type == "qa"
    assert rows[-1].reason == "route qa/high position 2"


async def test_all_failing_is_a_503_naming_each_attempt(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession
) -> None:
    runtime.use_provider("local:smollm2-135m", ScriptedProvider(ProviderUnavailableError("down")))
    response = await client.post(
        "/llm/complete", json={"task_type": "qa", "prompt": "hi", "priority": "low"}
    )
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "AllProvidersFailedError"
    assert body["attempts"] == [
        {"model": "local:smollm2-135m", "error": "ProviderUnavailableError", "message": "down"}
    ]
    assert (await session.scalar(select(ProviderCall.outcome))) == "error"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"task_type": "qa", "prompt": ""}, "prompt"),
        ({"task_type": "qa", "prompt": "  "}, "prompt"),
        ({"task_type": "qa", "prompt": "hi", "priority": "urgent"}, "priority"),
        ({"task_type": "Not Valid!", "prompt": "hi"}, "task_type"),
        ({"prompt": "hi"}, "task_type"),
    ],
)
async def test_bad_requests_are_422(
    client: httpx.AsyncClient, payload: dict[str, object], field: str
) -> None:
    response = await client.post("/llm/complete", json=payload)
    assert response.status_code == 422
    assert field in response.text


async def test_real_local_model_answers(client: httpx.AsyncClient, session: AsyncSession) -> None:
    response = await client.post(
        "/llm/complete",
        json={"task_type": "qa", "prompt": "Say hello.", "priority": "low", "max_tokens": 12},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"].strip() and body["provider"] == "local"
    assert body["output_tokens"] and body["output_tokens"] <= 12
    row = await session.scalar(select(ProviderCall))
    assert row is not None and row.outcome == "ok" and row.input_tokens
