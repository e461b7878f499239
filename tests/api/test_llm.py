"""POST /llm/complete: routed by task and priority, falling back, every attempt recorded."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.routing.helpers import FakeTime
from tests.support.scripted import ScriptedProvider
from triad.db.models import ProviderCall
from triad.errors import ProviderUnavailableError
from triad.routing.router import Router
from triad.runtime import Runtime

pytestmark = pytest.mark.usefixtures("keyed")  # /llm/complete needs an API key


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "XAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def time(runtime: Runtime) -> FakeTime:
    """The runtime's router on a fake clock: retries wait without waiting."""
    fake = FakeTime()
    current = runtime.router
    runtime.router = Router(
        runtime.routing,
        runtime.registry,
        runtime.provider,
        budget=current.budget,
        cache=current.cache,
        clock=fake.clock,
        sleep=fake.sleep,
        rng=lambda: 1.0,
    )
    return fake


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
    assert [a["outcome"] for a in body["attempts"]] == ["skipped_key", "skipped_key", "ok"]
    assert "OPENAI_API_KEY" in body["attempts"][0]["error"]
    assert body["degraded"] is False and body["disclaimer"] is None and body["cached"] is False
    assert body["reason"].startswith("route default/high #3; healthy")
    rows = (await session.scalars(select(ProviderCall).order_by(ProviderCall.id))).all()
    assert [(r.provider, r.outcome) for r in rows] == [
        ("openai", "skipped_key"),
        ("anthropic", "skipped_key"),
        ("local", "ok"),
    ]
    assert rows[-1].user_id == "b1" and rows[-1].task_type == "qa"
    assert rows[-1].reason == body["reason"]


async def test_all_failing_is_a_503_naming_each_attempt(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, time: FakeTime
) -> None:
    local = ScriptedProvider(ProviderUnavailableError("down"))
    runtime.use_provider("local:smollm2-135m", local)
    response = await client.post(
        "/llm/complete", json={"task_type": "qa", "prompt": "hi", "priority": "high"}
    )
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "AllProvidersFailedError"
    assert body["attempts"][2] == {
        "model": "local:smollm2-135m",
        "error": "ProviderUnavailableError",
        "message": "down",
    }
    assert [a["error"] for a in body["attempts"][:2]] == ["MissingCredentialError"] * 2
    assert len(local.history) == 3 and time.sleeps == [0.25, 0.5]
    rows = (await session.scalars(select(ProviderCall).order_by(ProviderCall.id))).all()
    assert [(r.model, r.outcome, r.retry_count) for r in rows] == [
        ("gpt-4o-mini", "skipped_key", 0),
        ("claude-haiku-4-5", "skipped_key", 0),
        ("smollm2-135m", "error", 2),
    ]
    assert rows[2].reason and "stopped: 3 calls made" in rows[2].reason


async def test_a_lower_tier_answer_is_degraded_with_the_disclaimer(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, time: FakeTime
) -> None:
    runtime.use_provider("openai:gpt-4o-mini", ScriptedProvider(ProviderUnavailableError("503")))
    runtime.use_provider("local:smollm2-135m", ScriptedProvider("Paris."))
    response = await client.post(
        "/llm/complete",
        json={"task_type": "qa", "prompt": "Capital of France?", "priority": "high"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"] == "Paris." and body["degraded"] is True
    assert body["disclaimer"] == runtime.routing.degraded_disclaimer
    assert [(a["outcome"], a["retry_count"]) for a in body["attempts"]] == [
        ("error", 2),
        ("skipped_key", 0),
        ("ok", 0),
    ]
    rows = (await session.scalars(select(ProviderCall).order_by(ProviderCall.id))).all()
    assert [r.retry_count for r in rows] == [2, 0, 0]


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
