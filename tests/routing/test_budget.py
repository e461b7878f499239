"""Daily budgets from provider_calls, per-request caps, and what the router does with a refusal."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.routing.helpers import LOCAL, OPENAI, REGISTRY, make_router, routing
from tests.support.scripted import ScriptedProvider
from triad.db.models import ProviderCall
from triad.errors import BudgetExceededError, InvalidConfigError, RequestCapExceededError
from triad.providers.base import ChatMessage, CompletionRequest
from triad.routing.budget import BudgetConfig, DailyBudgetGuard, refusal_error
from triad.routing.tokens import estimate_prompt_tokens
from triad.routing.types import RouteKey
from triad.settings import Settings

ZONE = "America/Los_Angeles"
# 2026-03-10 10:00 in Los Angeles (PDT, UTC-7): local midnight is 07:00 UTC.
NOON_ISH = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
PRICING = RouteKey(task_type="chat.pricing", agent="pricing", role="teacher")
REQUEST = CompletionRequest(
    messages=[ChatMessage(role="user", content="How much is the deposit to hold a date?")],
    max_tokens=256,
)


@dataclass
class Clock:
    now: datetime = NOON_ISH

    def __call__(self) -> datetime:
        return self.now


def projected(model_id: str, request: CompletionRequest = REQUEST) -> float:
    return REGISTRY.get(model_id).cost_usd(estimate_prompt_tokens(request), request.max_tokens)


def guard(
    sessions: async_sessionmaker[AsyncSession], clock: Clock | None = None, **raw: object
) -> DailyBudgetGuard:
    config = BudgetConfig.model_validate({"timezone": ZONE, **raw})
    return DailyBudgetGuard(config, REGISTRY, sessions, clock=clock or Clock())


def call(
    *,
    agent: str = "pricing",
    cost: float = 0.0,
    tokens: int = 0,
    at: datetime = NOON_ISH,
    **kw: str,
) -> ProviderCall:
    return ProviderCall(
        agent=agent,
        task_type=kw.get("task_type", f"chat.{agent}"),
        provider="openai",
        model="gpt-4o-mini",
        input_tokens=tokens,
        output_tokens=0,
        cost_usd=cost,
        outcome=kw.get("outcome", "ok"),
        created_at=at,
    )


async def test_spent_usd_budget_refuses_the_priced_model_but_not_a_free_one(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    session.add(call(cost=0.006))
    session.add(call(cost=0.004))
    await session.commit()
    budgets = guard(session_factory, agents={"pricing": {"usd_per_day": 0.01}})

    refused = await budgets.check(PRICING, OPENAI, REQUEST)
    assert not refused.allowed and refused.status_code == 429
    assert refused.budget == "agents.pricing.usd_per_day"
    assert "$0.010000 of $0.01" in refused.reason
    assert (await budgets.check(PRICING, LOCAL, REQUEST)).allowed


async def test_only_today_this_agent_and_real_calls_count(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    local_midnight = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
    session.add_all(
        [
            call(cost=1.0, at=local_midnight - timedelta(minutes=1)),  # yesterday in LA
            call(cost=1.0, agent="menu"),
            call(cost=1.0, outcome="cache_hit"),
            call(cost=0.009, at=local_midnight),  # today's first minute counts
        ]
    )
    await session.commit()
    budgets = guard(session_factory, agents={"pricing": {"usd_per_day": 0.01}})
    assert projected(OPENAI) < 0.001
    assert (await budgets.check(PRICING, OPENAI, REQUEST)).allowed
    session.add(call(cost=0.001))
    await session.commit()
    assert not (
        await guard(session_factory, agents={"pricing": {"usd_per_day": 0.01}}).check(
            PRICING, OPENAI, REQUEST
        )
    ).allowed


async def test_a_spent_token_budget_refuses_even_free_models_until_midnight(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    session.add(call(tokens=9_900))
    await session.commit()
    budgets = guard(session_factory, agents={"pricing": {"tokens_per_day": 10_000}})
    decision = await budgets.check(PRICING, LOCAL, REQUEST)
    assert not decision.allowed and decision.budget == "agents.pricing.tokens_per_day"
    error = budgets.error(decision)
    assert isinstance(error, BudgetExceededError) and not isinstance(error, RequestCapExceededError)
    assert error.budget == "agents.pricing.tokens_per_day"
    assert error.retry_after == pytest.approx(14 * 3600)  # 10:00 -> midnight, Los Angeles


async def test_task_type_budgets_and_the_default_one(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    session.add(call(agent="x", task_type="summarize", cost=2.0))
    session.add(call(agent="x", task_type="qa", cost=0.5))
    await session.commit()
    budgets = guard(
        session_factory,
        task_types={"summarize": {"usd_per_day": 2.0}, "default": {"usd_per_day": 1.0}},
    )
    summarize = await budgets.check(RouteKey(task_type="summarize"), OPENAI, REQUEST)
    assert summarize.budget == "task_types.summarize.usd_per_day"
    assert (await budgets.check(RouteKey(task_type="qa"), OPENAI, REQUEST)).allowed
    assert (await budgets.check(RouteKey(task_type="other"), OPENAI, REQUEST)).allowed


async def test_per_request_caps_are_422_whatever_the_model(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    budgets = guard(
        session_factory, per_request={"max_prompt_tokens": 20, "max_completion_tokens": 100}
    )
    long = CompletionRequest(
        messages=[ChatMessage(role="user", content="deposit? " * 40)], max_tokens=50
    )
    decision = await budgets.check(RouteKey(task_type="qa"), LOCAL, long)
    assert not decision.allowed and decision.status_code == 422
    assert decision.budget == "per_request.max_prompt_tokens"
    assert isinstance(budgets.error(decision), RequestCapExceededError)
    greedy = REQUEST.model_copy(update={"max_tokens": 101})
    decision = await budgets.check(RouteKey(task_type="qa"), LOCAL, greedy)
    assert decision.budget == "per_request.max_completion_tokens"
    assert "max_tokens 101" in decision.reason
    fits = REQUEST.model_copy(update={"max_tokens": 100})
    assert (await budgets.check(RouteKey(task_type="qa"), LOCAL, fits)).allowed


async def test_concurrent_calls_reserve_their_worst_case(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    budgets = guard(session_factory, agents={"pricing": {"usd_per_day": 2.5 * projected(OPENAI)}})
    decisions = await asyncio.gather(*(budgets.check(PRICING, OPENAI, REQUEST) for _ in range(5)))
    assert sum(d.allowed for d in decisions) == 2


async def test_spend_is_reread_after_the_refresh_window(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    clock = Clock()
    budgets = guard(
        session_factory, clock, refresh_seconds=5, agents={"pricing": {"usd_per_day": 0.01}}
    )
    assert (await budgets.check(PRICING, OPENAI, REQUEST)).allowed
    session.add(call(cost=0.01))  # another replica spent the rest
    await session.commit()
    clock.now += timedelta(seconds=4)
    assert (await budgets.check(PRICING, OPENAI, REQUEST)).allowed  # the documented slack
    clock.now += timedelta(seconds=1)
    assert not (await budgets.check(PRICING, OPENAI, REQUEST)).allowed


async def test_the_router_moves_to_the_free_model_then_gives_a_429_naming_the_budget(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    session.add(call(cost=0.01, tokens=9_000))
    await session.commit()
    local = ScriptedProvider("A $100 deposit holds the date.")
    priced = ScriptedProvider("never asked")
    budgets = guard(session_factory, agents={"pricing": {"usd_per_day": 0.01}})
    router, _ = make_router({OPENAI: priced, LOCAL: local}, routing(), budget=budgets)
    key = RouteKey(task_type="qa", agent="pricing")
    routed = await router.route(key, REQUEST)
    assert routed.model_id == LOCAL and not priced.history
    assert [a.outcome for a in routed.attempts] == ["skipped_budget", "ok"]
    assert "agents.pricing.usd_per_day" in (routed.attempts[0].error or "")

    tight = guard(session_factory, agents={"pricing": {"tokens_per_day": 9_100}})
    router, _ = make_router({OPENAI: priced, LOCAL: local}, routing(), budget=tight)
    with pytest.raises(BudgetExceededError) as caught:
        await router.route(key, REQUEST)
    assert caught.value.budget == "agents.pricing.tokens_per_day"
    assert len(local.history) == 1 and not priced.history


def test_refusal_error_maps_status_to_the_error_type() -> None:
    from triad.routing.types import BudgetDecision

    cap = refusal_error(BudgetDecision(False, "too long", "per_request.x", 422))
    daily = refusal_error(BudgetDecision(False, "spent", "agents.a.usd_per_day"), retry_after=5)
    assert isinstance(cap, RequestCapExceededError) and cap.budget == "per_request.x"
    assert type(daily) is BudgetExceededError and daily.retry_after == 5


def test_the_shipped_budgets_load_and_bad_ones_are_named(tmp_path: Path) -> None:
    shipped = BudgetConfig.from_yaml(Settings().budgets_config)
    assert shipped.per_request.max_prompt_tokens and shipped.agents
    bad = tmp_path / "budgets.yaml"
    bad.write_text("agents:\n  menu: {usd_per_dya: 1}\n")
    with pytest.raises(InvalidConfigError, match="usd_per_dya"):
        BudgetConfig.from_yaml(bad)
    bad.write_text("timezone: Mars/Olympus\n")
    with pytest.raises(InvalidConfigError, match="Mars/Olympus"):
        BudgetConfig.from_yaml(bad)


def test_guards_build_from_the_shipped_settings(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    from triad.knowledge.embedding import get_embedder
    from triad.routing.guards import build_guards

    guards = build_guards(Settings(), REGISTRY, get_embedder(), session_factory)
    assert guards.budget.config.timezone == "America/Los_Angeles"
    assert guards.completions.entries is guards.turns.entries
