"""Fallback order, skips, degraded answers, health preference, budget and cache hooks, binding."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.routing.helpers import (
    ANTHROPIC,
    EXTRACTIVE,
    KEY,
    LOCAL,
    ONE_FAILURE_OPENS,
    OPENAI,
    PREMIUM,
    REQUEST,
    make_router,
    routing,
)
from tests.support.scripted import ScriptedProvider
from triad.errors import (
    AllProvidersFailedError,
    BudgetExceededError,
    ProviderError,
    ProviderUnavailableError,
    RequestCapExceededError,
)
from triad.metrics import REGISTRY
from triad.providers.base import Completion, CompletionRequest, Provider
from triad.routing.config import RoutingConfig
from triad.routing.router import RoutedProvider, RoutingFailedError, attempts_of
from triad.routing.types import BudgetDecision, RoutedCompletion, RouteKey


def down() -> ProviderUnavailableError:
    return ProviderUnavailableError("HTTP 503", status_code=503)


def one_call_each() -> RoutingConfig:
    return routing(retry={"max_attempts": 1})


async def test_route_then_fallback_chains_in_order_every_model_named() -> None:
    config = routing(
        routes={"default": {p: [OPENAI, ANTHROPIC] for p in ("low", "medium", "high")}},
        fallbacks={OPENAI: [LOCAL], ANTHROPIC: [PREMIUM, OPENAI], LOCAL: [EXTRACTIVE]},
        retry={"max_attempts": 1},
    )
    failing = {m: ScriptedProvider(down()) for m in (OPENAI, LOCAL, EXTRACTIVE)}
    router, _ = make_router(failing, config)  # ANTHROPIC and PREMIUM have no key
    with pytest.raises(RoutingFailedError) as caught:
        await router.route(KEY, REQUEST)
    records = caught.value.records
    assert [r.model_id for r in records] == [OPENAI, ANTHROPIC, LOCAL, PREMIUM, EXTRACTIVE]
    assert [r.position for r in records] == [0, 1, 2, 3, 4]
    assert [r.outcome for r in records] == ["error", "skipped_key", "error", "skipped_key", "error"]
    assert records[2].reason.startswith(f"fallback of {OPENAI}")
    assert records[4].reason.startswith(f"fallback of {LOCAL}")
    assert "TEST_KEY_UNSET" in (records[1].error or "")
    assert isinstance(caught.value, AllProvidersFailedError)
    assert [a.model_id for a in caught.value.attempts] == [r.model_id for r in records]
    assert all(len(p.history) == 1 for p in failing.values())


async def test_the_first_answer_wins_and_the_rest_are_not_called() -> None:
    later = ScriptedProvider("unused")
    router, _ = make_router({OPENAI: ScriptedProvider("first"), LOCAL: later})
    routed = await router.route(KEY, REQUEST)
    assert routed.model_id == OPENAI and later.history == []
    assert routed.reason.startswith("route default/medium #1; healthy")
    [attempt] = routed.attempts
    assert attempt.input_tokens == 1 and attempt.output_tokens == 1
    assert attempt.cost_usd == pytest.approx((1 * 0.15 + 1 * 0.60) / 1_000_000)


async def test_a_lower_tier_answer_is_degraded() -> None:
    router, _ = make_router({OPENAI: ScriptedProvider(down()), LOCAL: ScriptedProvider("ok")})
    routed = await router.route(KEY, REQUEST)
    assert routed.model_id == LOCAL and routed.degraded


async def test_degradation_is_judged_against_the_first_model_with_a_key() -> None:
    config = routing(routes={"default": {p: [PREMIUM, OPENAI] for p in ("low", "medium", "high")}})
    router, _ = make_router({OPENAI: ScriptedProvider("ok")}, config)  # no key for PREMIUM
    routed = await router.route(KEY, REQUEST)
    assert routed.model_id == OPENAI and not routed.degraded


async def test_a_higher_tier_fallback_is_not_degraded() -> None:
    config = routing(routes={"default": {p: [OPENAI, PREMIUM] for p in ("low", "medium", "high")}})
    providers = {OPENAI: ScriptedProvider(down()), PREMIUM: ScriptedProvider("ok")}
    routed = await make_router(providers, config)[0].route(KEY, REQUEST)
    assert routed.model_id == PREMIUM and not routed.degraded


async def test_an_unhealthy_first_model_is_demoted_with_the_reason_recorded() -> None:
    primary, backup = ScriptedProvider("primary"), ScriptedProvider("backup")
    router, time = make_router({OPENAI: primary, LOCAL: backup})
    for _ in range(5):
        router.health[OPENAI].record(False, 40.0)
    for latency in (100.0, 200.0, 820.0):
        router.health[LOCAL].record(True, latency)
    routed = await router.route(KEY, REQUEST)
    assert routed.model_id == LOCAL and primary.history == []
    assert routed.reason == "route default/medium #2; healthy (3 recent calls)"
    assert [c.model_id for c in router.plan(KEY)] == [LOCAL, OPENAI]
    demoted = router.plan(KEY)[1].reason
    assert demoted.startswith("route default/medium #1; demoted, unhealthy: error rate 100%")
    assert routed.degraded, "the configured first model was standard tier"

    for _ in range(2):
        router.health[LOCAL].record(True, 820.0)
    assert "p95 820ms" in router.plan(KEY)[0].reason
    time.advance(301)  # the health window forgets, so a demoted model gets traffic again
    assert [c.model_id for c in router.plan(KEY)] == [OPENAI, LOCAL]


async def test_slow_models_are_demoted_when_a_p95_limit_is_set() -> None:
    config = routing(health={"max_p95_ms": 500, "min_samples": 2})
    router, _ = make_router({}, config)
    for latency in (900.0, 1200.0):
        router.health[OPENAI].record(True, latency)
    plan = router.plan(KEY)
    assert [c.model_id for c in plan] == [LOCAL, OPENAI]
    assert "p95 1200ms above 500ms" in plan[1].reason


async def test_the_configured_first_model_leads_and_exclusions_are_never_tried() -> None:
    config = routing(fallbacks={LOCAL: [ANTHROPIC, EXTRACTIVE]})
    router, _ = make_router({}, config)
    key = RouteKey(task_type="chat.menu", role="student")
    plan = [c.model_id for c in router.plan(key, first=EXTRACTIVE, exclude={EXTRACTIVE, OPENAI})]
    assert plan == [EXTRACTIVE, LOCAL, ANTHROPIC]
    assert router.plan(key, first=EXTRACTIVE)[0].reason.startswith(
        "configured student of chat.menu; healthy"
    )


@dataclass
class Guard:
    """Refuses the models in `refuse`, with the given status."""

    refuse: set[str]
    status_code: int = 429
    seen: list[str] = field(default_factory=list)

    async def check(
        self, key: RouteKey, model_id: str, request: CompletionRequest
    ) -> BudgetDecision:
        self.seen.append(model_id)
        if model_id in self.refuse:
            return BudgetDecision(
                False,
                reason="agent menu: $1 a day spent",
                budget="menu.usd_per_day",
                status_code=self.status_code,
            )
        return BudgetDecision(True)


async def test_a_budget_refusal_moves_to_the_next_model_without_calling() -> None:
    primary, backup = ScriptedProvider("pricey"), ScriptedProvider("cheap")
    router, _ = make_router({OPENAI: primary, LOCAL: backup}, budget=Guard({OPENAI}))
    routed = await router.route(KEY, REQUEST)
    assert routed.model_id == LOCAL and primary.history == []
    assert routed.attempts[0].outcome == "skipped_budget"
    assert routed.attempts[0].error == "agent menu: $1 a day spent"


@pytest.mark.parametrize(
    ("status", "error"), [(429, BudgetExceededError), (422, RequestCapExceededError)]
)
async def test_refused_everywhere_is_the_budget_error_with_the_attempts(
    status: int, error: type[BudgetExceededError]
) -> None:
    router, _ = make_router(
        {OPENAI: ScriptedProvider("x"), LOCAL: ScriptedProvider("y")},
        budget=Guard({OPENAI, LOCAL}, status),
    )
    with pytest.raises(error) as caught:
        await router.route(KEY, REQUEST)
    assert type(caught.value) is error and caught.value.budget == "menu.usd_per_day"
    assert [r.outcome for r in attempts_of(caught.value)] == ["skipped_budget"] * 2


async def test_a_budget_refusal_after_real_failures_is_still_a_503() -> None:
    router, _ = make_router(
        {OPENAI: ScriptedProvider(down()), LOCAL: ScriptedProvider("y")}, budget=Guard({LOCAL})
    )
    with pytest.raises(RoutingFailedError):
        await router.route(KEY, REQUEST)


@dataclass
class Cache:
    hit: Completion | None = None
    stored: list[RoutedCompletion] = field(default_factory=list)

    async def lookup(self, key: RouteKey, request: CompletionRequest) -> Completion | None:
        return self.hit

    async def store(
        self, key: RouteKey, request: CompletionRequest, routed: RoutedCompletion
    ) -> None:
        self.stored.append(routed)


async def test_a_cache_hit_makes_no_upstream_call() -> None:
    hit = Completion(text="cached", model="gpt-4o-mini", provider="openai")
    primary = ScriptedProvider("fresh")
    router, _ = make_router({OPENAI: primary}, cache=Cache(hit))
    routed = await router.route(KEY, REQUEST)
    assert routed.cached and routed.completion.text == "cached" and primary.history == []
    assert routed.model_id == OPENAI
    assert [(a.outcome, a.reason) for a in routed.attempts] == [("cache_hit", "cache hit")]


async def test_a_miss_routes_and_stores_the_answer() -> None:
    cache = Cache()
    router, _ = make_router({OPENAI: ScriptedProvider("fresh")}, cache=cache)
    routed = await router.route(KEY, REQUEST)
    assert not routed.cached and cache.stored == [routed]


async def test_a_bound_route_is_a_provider() -> None:
    router, _ = make_router({OPENAI: ScriptedProvider(down()), LOCAL: ScriptedProvider("ok")})
    bound = router.bind(KEY)
    assert isinstance(bound, Provider) and isinstance(bound, RoutedProvider)
    assert (await bound.complete(REQUEST)).text == "ok"
    routed = await bound.route(REQUEST)
    assert routed.degraded and [a.outcome for a in routed.attempts] == ["error", "ok"]

    dead, _ = make_router({OPENAI: ScriptedProvider(down())}, one_call_each())
    with pytest.raises(ProviderError):
        await dead.bind(KEY).complete(REQUEST)


async def test_every_attempt_is_reported_to_metrics() -> None:
    def count(outcome: str) -> float:
        labels = {"provider": "anthropic", "model": "claude-haiku-4-5", "outcome": outcome}
        return REGISTRY.get_sample_value("triad_provider_calls_total", labels) or 0.0

    def retries() -> float:
        labels = {"provider": "openai", "model": "gpt-4o-mini"}
        return REGISTRY.get_sample_value("triad_retries_total", labels) or 0.0

    config = routing(
        routes={"default": {p: [ANTHROPIC, OPENAI] for p in ("low", "medium", "high")}}
    )
    before_skip, before_retries = count("skipped_key"), retries()
    router, _ = make_router({OPENAI: ScriptedProvider(down(), "ok")}, config)
    await router.route(KEY, REQUEST)
    assert count("skipped_key") == before_skip + 1
    assert retries() == before_retries + 1


async def test_an_open_breaker_skips_before_the_budget_is_asked() -> None:
    guard = Guard(set())
    config = routing(breaker=ONE_FAILURE_OPENS, retry={"max_attempts": 1})
    primary = ScriptedProvider(down())
    router, time = make_router(
        {OPENAI: primary, LOCAL: ScriptedProvider("ok")}, config, budget=guard
    )
    await router.route(KEY, REQUEST)  # one failure opens the primary's breaker
    guard.seen.clear()
    await router.route(KEY, REQUEST)
    assert guard.seen == [LOCAL], "a skipped model reserves no budget"

    time.advance(300)  # half-open: a refused probe gives its slot back
    guard.refuse = {OPENAI}
    routed = await router.route(KEY, REQUEST)
    assert routed.attempts[0].outcome == "skipped_budget" and len(primary.history) == 1
    guard.refuse = set()
    primary.queue = ["recovered"]
    assert (await router.route(KEY, REQUEST)).model_id == OPENAI
    assert router.breakers[OPENAI].state == "closed"
