"""Budgets through POST /llm/complete: a cheaper model, 422 naming a cap, 429 naming a budget."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.scripted import ScriptedProvider
from triad.db.models import ProviderCall
from triad.routing.budget import BudgetConfig, DailyBudgetGuard
from triad.runtime import Runtime

LOCAL = "local:smollm2-135m"
OPENAI = "openai:gpt-4o-mini"


pytestmark = pytest.mark.usefixtures("keyed")  # /llm/complete needs an API key


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "XAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)


def budget(app: FastAPI, runtime: Runtime, **raw: object) -> None:
    config = BudgetConfig.model_validate({"timezone": "UTC", **raw})
    runtime.router.budget = DailyBudgetGuard(config, runtime.registry, app.state.session_factory)


def spent(*, cost: float = 0.0, tokens: int = 0) -> ProviderCall:
    return ProviderCall(
        task_type="qa",
        provider="openai",
        model="gpt-4o-mini",
        input_tokens=tokens,
        cost_usd=cost,
        outcome="ok",
        created_at=datetime.now(UTC),
    )


async def test_a_prompt_over_the_cap_is_422_naming_it(
    app: FastAPI, client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession
) -> None:
    local = ScriptedProvider("never asked")
    runtime.use_provider(LOCAL, local)
    budget(app, runtime, per_request={"max_prompt_tokens": 20})
    response = await client.post(
        "/llm/complete",
        json={"task_type": "qa", "prompt": "what is the deposit? " * 10, "priority": "low"},
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "RequestCapExceededError"
    assert body["budget"] == "per_request.max_prompt_tokens"
    assert "per_request.max_prompt_tokens allows 20" in body["detail"]
    assert not local.history
    outcomes = (await session.scalars(select(ProviderCall.outcome))).all()
    assert outcomes == ["skipped_budget"]

    short = await client.post(
        "/llm/complete", json={"task_type": "qa", "prompt": "deposit?", "priority": "low"}
    )
    assert short.status_code == 200, short.text


async def test_a_spent_usd_budget_moves_to_the_free_model(
    app: FastAPI, client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession
) -> None:
    session.add(spent(cost=0.001))
    await session.commit()
    priced, local = ScriptedProvider("priced"), ScriptedProvider("free")
    runtime.use_provider(OPENAI, priced)
    runtime.use_provider(LOCAL, local)
    budget(app, runtime, task_types={"qa": {"usd_per_day": 0.001}})
    response = await client.post(
        "/llm/complete", json={"task_type": "qa", "prompt": "deposit?", "priority": "high"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"] == "free" and body["model"] == LOCAL and not priced.history
    first = body["attempts"][0]
    assert (first["model"], first["outcome"]) == (OPENAI, "skipped_budget")
    assert "task_types.qa.usd_per_day" in first["error"]


async def test_a_spent_token_budget_is_429_naming_it_with_retry_after(
    app: FastAPI, client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession
) -> None:
    session.add(spent(tokens=1_000))
    await session.commit()
    local = ScriptedProvider("never asked")
    runtime.use_provider(LOCAL, local)
    budget(app, runtime, task_types={"default": {"tokens_per_day": 1_000}})
    response = await client.post(
        "/llm/complete", json={"task_type": "qa", "prompt": "deposit?", "priority": "low"}
    )
    assert response.status_code == 429, response.text
    body = response.json()
    assert (body["error"], body["budget"]) == (
        "BudgetExceededError",
        "task_types.default.tokens_per_day",
    )
    assert 1 <= int(response.headers["Retry-After"]) <= 86_400
    assert not local.history
