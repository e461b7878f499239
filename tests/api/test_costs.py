"""GET /admin/api/costs: spend and cache savings per business day, provider, model and agent."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import ADMIN_HEADERS, STAFF_HEADERS
from triad.db.models import CacheHit, ProviderCall

# The shipped budgets put the business in Los Angeles (PDT, UTC-7, in March 2026).
MAR9_LATE = datetime(2026, 3, 10, 6, 30, tzinfo=UTC)  # 23:30 on 9 March, local
MAR10 = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)


def call(
    at: datetime,
    *,
    provider: str = "openai",
    model: str = "gpt-4o-mini",
    agent: str | None = "menu",
    outcome: str = "ok",
    cost: float = 0.0,
    tokens: tuple[int | None, int | None] = (None, None),
) -> ProviderCall:
    return ProviderCall(
        provider=provider,
        model=model,
        agent=agent,
        task_type=f"chat.{agent}" if agent else "qa",
        outcome=outcome,
        cost_usd=cost,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        created_at=at,
    )


@pytest.fixture
async def ledger(session: AsyncSession) -> None:
    session.add_all(
        [
            call(MAR9_LATE, cost=0.25, tokens=(100, 50)),
            call(MAR10, cost=0.5, tokens=(200, 80)),
            call(MAR10, cost=0.25, tokens=(100, 20)),
            call(MAR10, outcome="ProviderUnavailableError"),  # an error is still a call
            call(MAR10, outcome="skipped_key"),
            call(MAR10, outcome="cache_hit"),
            call(MAR10, provider="local", model="smollm2-135m", tokens=(40, 10)),
            call(MAR10, provider="anthropic", model="claude-haiku-4-5", agent=None, cost=1.0),
            CacheHit(
                kind="semantic",
                agent="menu",
                provider="openai",
                model="gpt-4o-mini",
                saved_usd=0.5,
                saved_tokens=280,
                created_at=MAR10,
            ),
        ]
    )
    await session.commit()


async def test_rows_per_day_provider_model_and_agent_with_totals(
    client: httpx.AsyncClient, ledger: None
) -> None:
    response = await client.get(
        "/admin/api/costs", params={"from": "2026-03-09", "to": "2026-03-10"}, headers=ADMIN_HEADERS
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["to"], body["timezone"]) == (
        "2026-03-09",
        "2026-03-10",
        "America/Los_Angeles",
    )
    rows = {(r["day"], r["provider"], r["model"], r["agent"]): r for r in body["rows"]}
    assert set(rows) == {
        ("2026-03-09", "openai", "gpt-4o-mini", "menu"),
        ("2026-03-10", "openai", "gpt-4o-mini", "menu"),
        ("2026-03-10", "local", "smollm2-135m", "menu"),
        ("2026-03-10", "anthropic", "claude-haiku-4-5", None),
    }
    late = rows[("2026-03-09", "openai", "gpt-4o-mini", "menu")]
    assert (late["calls"], late["cost_usd"], late["input_tokens"]) == (1, 0.25, 100)
    today = rows[("2026-03-10", "openai", "gpt-4o-mini", "menu")]
    assert today["calls"] == 3  # two answers and one error; the skip and the cache hit are not
    assert (today["input_tokens"], today["output_tokens"]) == (300, 100)
    assert today["cost_usd"] == pytest.approx(0.75)
    assert (today["cache_hits"], today["saved_usd"]) == (1, 0.5)
    assert body["totals"]["calls"] == 6
    assert body["totals"]["cost_usd"] == pytest.approx(2.0)
    assert body["totals"]["saved_usd"] == pytest.approx(0.5)
    assert body["totals"]["input_tokens"] == 440


async def test_group_by_and_the_date_range(client: httpx.AsyncClient, ledger: None) -> None:
    by_provider = await client.get(
        "/admin/api/costs",
        params={"from": "2026-03-10", "to": "2026-03-10", "group_by": "provider"},
        headers=ADMIN_HEADERS,
    )
    assert by_provider.status_code == 200, by_provider.text
    body = by_provider.json()
    assert body["group_by"] == ["provider"]
    costs = {r["provider"]: (r["day"], r["model"], r["cost_usd"]) for r in body["rows"]}
    assert costs == {
        "anthropic": (None, None, 1.0),
        "local": (None, None, 0.0),
        "openai": (None, None, 0.75),  # 9 March's late call is outside the range
    }
    everything = await client.get(
        "/admin/api/costs",
        params={"from": "2026-03-01", "to": "2026-03-31", "group_by": ""},
        headers=ADMIN_HEADERS,
    )
    rows = everything.json()["rows"]
    assert len(rows) == 1 and rows[0]["cost_usd"] == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "after"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "366"),
        ({"group_by": "day,colour"}, "colour"),
    ],
)
async def test_bad_input_is_422_naming_it(
    client: httpx.AsyncClient, params: dict[str, str], needle: str
) -> None:
    response = await client.get("/admin/api/costs", params=params, headers=ADMIN_HEADERS)
    assert response.status_code == 422
    assert needle in response.text


async def test_admins_only(client: httpx.AsyncClient) -> None:
    assert (await client.get("/admin/api/costs")).status_code == 401
    assert (await client.get("/admin/api/costs", headers=STAFF_HEADERS)).status_code == 403
    wrong = {"Authorization": "Bearer nope"}
    assert (await client.get("/admin/api/costs", headers=wrong)).status_code == 401
    assert (await client.get("/admin/api/costs", headers=ADMIN_HEADERS)).status_code == 200
