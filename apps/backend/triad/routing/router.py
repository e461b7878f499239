"""The router: which models, in which order, retried and breaker-protected, with fallback.

One call of `Router.route` walks the candidates of a `RouteKey` (the role's configured model
first when given, then the route's models with unhealthy ones moved last, then each model's
fallback chain) and returns the first answer. Every model tried or skipped becomes one
`AttemptRecord` whose `reason` says why it was chosen; the records travel with the answer or,
when everything failed, with the `RoutingFailedError`, so the caller can persist them. This is
the only retry loop in Triad (the SDKs' own retries are off). `Router.bind` makes a route look
like any single model, so the ensemble holds "a model" that is really a route.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from triad import metrics
from triad.errors import (
    AllProvidersFailedError,
    Attempt,
    BadRequestError,
    BudgetExceededError,
    ContentFilteredError,
    MissingCredentialError,
    ProviderError,
    ProviderTimeoutError,
    RequestCapExceededError,
)
from triad.observability import genai
from triad.providers.base import Completion, CompletionRequest, Provider
from triad.providers.registry import ModelRegistry
from triad.routing.breaker import Breakers, Permit
from triad.routing.config import TIER_RANK, RetryPolicy, RoutingConfig
from triad.routing.health import HealthBook
from triad.routing.retry import Backoff
from triad.routing.tokens import account
from triad.routing.types import (
    AttemptRecord,
    BudgetDecision,
    BudgetGuard,
    ResponseCache,
    RoutedCompletion,
    RouteKey,
)

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class RoutingFailedError(AllProvidersFailedError):
    """Every candidate failed or was skipped; `records` are the attempts for provider_calls."""

    def __init__(self, records: list[AttemptRecord]) -> None:
        self.records = records
        super().__init__(
            [Attempt(r.model_id, r.error_type or r.outcome, r.error or "") for r in records]
        )


def attempts_of(exc: BaseException | None) -> list[AttemptRecord]:
    """The attempts a routing failure carries; a budget refusal carries them on its cause."""
    while exc is not None:
        if isinstance(exc, RoutingFailedError):
            return exc.records
        exc = exc.__cause__
    return []


@runtime_checkable
class ExplainsRefusal(Protocol):
    """A budget guard that builds its own error (e.g. with Retry-After until the day ends)."""

    def error(self, decision: BudgetDecision) -> BudgetExceededError: ...


@dataclass(frozen=True)
class Candidate:
    """A model the router may try for one call, and why it is where it is in the order."""

    model_id: str
    reason: str
    rank: int
    """Place in the configured order, before health moved anything (degradation is judged
    against the first configured model whose key is set, not against a demoted one)."""


def counts_against_provider(error: ProviderError) -> bool:
    """Failures that say the provider is unwell; a bad request or a refusal says it is up."""
    return not isinstance(error, BadRequestError | ContentFilteredError)


class Router:
    """Routes, retries, trips breakers and falls back; clock, sleep and randomness injected."""

    def __init__(
        self,
        config: RoutingConfig,
        registry: ModelRegistry,
        provider_for: Callable[[str], Provider],
        *,
        budget: BudgetGuard | None = None,
        cache: ResponseCache | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.registry = registry
        self.budget = budget
        self.cache = cache
        self._provider_for = provider_for
        self._clock = clock
        self._sleep = sleep
        self.backoff = Backoff(config.retry, rng)
        self.health = HealthBook(config.health, clock)
        self.breakers = Breakers(config.breaker, clock=clock, on_change=metrics.set_circuit)

    def plan(
        self, key: RouteKey, *, first: str | None = None, exclude: Collection[str] = ()
    ) -> list[Candidate]:
        """The order of models for `key`: `first`, the route (healthy before unhealthy), then
        each model's fallbacks; duplicates and `exclude` (never `first`) removed."""
        name, route = self.config.route_for(key)
        label = f"route {name}/{key.priority}"
        primary: dict[str, str] = {}
        if first is not None:
            primary[first] = f"configured {key.role or 'model'} of {key.task_type}"
        for n, model_id in enumerate(route, 1):
            if model_id not in primary and model_id not in exclude:
                primary.setdefault(model_id, f"{label} #{n}")
        rank = {m: n for n, m in enumerate(primary)}
        ordered = [
            Candidate(m, f"{primary[m]}; {why}", rank[m])
            for m, why in self.health.order(list(primary))
        ]
        seen = set(primary) | set(exclude)
        for candidate in ordered:  # grows while iterating: fallbacks of fallbacks follow
            for fallback in self.config.fallbacks.get(candidate.model_id, []):
                if fallback not in seen:
                    seen.add(fallback)
                    _, why = self.health[fallback].verdict()
                    reason = f"fallback of {candidate.model_id}; {why}"
                    ordered.append(Candidate(fallback, reason, len(ordered)))
        return ordered

    def bind(
        self, key: RouteKey, *, first: str | None = None, exclude: Collection[str] = ()
    ) -> RoutedProvider:
        """A provider whose every call is routed for `key`."""
        return RoutedProvider(self, key, first=first, exclude=frozenset(exclude))

    def _tier(self, model_id: str) -> int | None:
        return TIER_RANK[self.registry.get(model_id).tier] if model_id in self.registry else None

    async def route(
        self,
        key: RouteKey,
        request: CompletionRequest,
        *,
        first: str | None = None,
        exclude: Collection[str] = (),
        deadline_s: float | None = None,
    ) -> RoutedCompletion:
        """The first answer along the plan, or RoutingFailedError carrying every attempt.

        When a budget refused every model that has a key, the error is the budget's
        (`BudgetExceededError`, 429, or `RequestCapExceededError`, 422), raised from the
        RoutingFailedError so `attempts_of` still finds the attempts.
        """
        cached = await self._lookup(key, request)
        if cached is not None:
            return cached
        limit = self.config.retry.deadline_s
        deadline = self._clock() + (limit if deadline_s is None else min(limit, deadline_s))
        candidates = self.plan(key, first=first, exclude=exclude)
        providers: dict[str, Provider | MissingCredentialError] = {}

        def resolve(model_id: str) -> Provider | MissingCredentialError:
            if model_id not in providers:
                try:
                    providers[model_id] = self._provider_for(model_id)
                except MissingCredentialError as exc:
                    providers[model_id] = exc
            return providers[model_id]

        by_rank = sorted(candidates, key=lambda c: c.rank)
        reference = next(
            (c.model_id for c in by_rank if isinstance(resolve(c.model_id), Provider)), None
        )
        records: list[AttemptRecord] = []
        refusals: list[BudgetDecision] = []
        for position, candidate in enumerate(candidates):
            record, done = await self._attempt(
                key, request, candidate, position, resolve(candidate.model_id), deadline, refusals
            )
            records.append(record)
            metrics.observe_attempt(record, key.agent)
            if done is not None:
                tier, ref = self._tier(candidate.model_id), self._tier(reference or "")
                routed = RoutedCompletion(
                    completion=done,
                    model_id=candidate.model_id,
                    attempts=records,
                    degraded=tier is not None and ref is not None and tier > ref,
                    reason=record.reason,
                )
                await self._store(key, request, routed)
                return routed
        failure = RoutingFailedError(records)
        if refusals and all(r.outcome in ("skipped_budget", "skipped_key") for r in records):
            raise self._refusal(refusals[0]) from failure
        raise failure

    def _refusal(self, decision: BudgetDecision) -> BudgetExceededError:
        if isinstance(self.budget, ExplainsRefusal):
            return self.budget.error(decision)
        name = decision.budget or "budget"
        if decision.status_code == 422:
            return RequestCapExceededError(decision.reason, budget=name)
        return BudgetExceededError(decision.reason, budget=name)

    async def _attempt(
        self,
        key: RouteKey,
        request: CompletionRequest,
        candidate: Candidate,
        position: int,
        provider: Provider | MissingCredentialError,
        deadline: float,
        refusals: list[BudgetDecision],
    ) -> tuple[AttemptRecord, Completion | None]:
        """One model: skip it, or call it with retries until it answers or gives up."""
        record = AttemptRecord(candidate.model_id, position, "error", reason=candidate.reason)
        if isinstance(provider, MissingCredentialError):
            return _skipped_key(record, provider), None
        breaker = self.breakers[candidate.model_id]
        permit = breaker.acquire()  # before the budget, which reserves spend for allowed calls
        if permit is None:
            record.outcome, record.error_type = "skipped_breaker", "CircuitOpen"
            record.error = f"circuit open; next probe in {breaker.reopens_in_s:.0f}s"
            return record, None
        if self.budget is not None:
            verdict = await self.budget.check(key, candidate.model_id, request)
            if not verdict.allowed:
                breaker.release(permit)
                refusals.append(verdict)
                record.outcome, record.error_type = "skipped_budget", "BudgetExceeded"
                record.error = verdict.reason or f"budget {verdict.budget} refused this model"
                return record, None
        started = self._clock()
        done, calls = await self._calls(provider, request, record, permit, deadline)
        if record.outcome == "skipped_key":
            return record, None
        if done is not None:
            return record, self._account(record, request, done, started, calls - 1)
        record.retry_count = max(calls - 1, 0)
        record.latency_ms = (self._clock() - started) * 1000
        return record, None

    async def _calls(
        self,
        provider: Provider,
        request: CompletionRequest,
        record: AttemptRecord,
        permit: Permit | None,
        deadline: float,
    ) -> tuple[Completion | None, int]:
        """One model's calls for one request: the first, a retry after each retryable failure
        (backoff or Retry-After) up to `max_attempts` calls, and up to `max_hedges` hedges (a
        parallel duplicate of a call that has been silent for `hedge_after_s`, so a hung
        connection costs seconds, not the deadline). The first answer wins; the calls still out
        are cancelled. Returns the answer (None: the model gave up) and how many calls were
        made."""
        model_id, position = record.model_id, record.position
        breaker, health = self.breakers[model_id], self.health[model_id]
        backoff = self.backoff.for_model(model_id)
        hedge_after, hedges = self.hedge_delay(model_id, backoff.policy), backoff.policy.max_hedges
        flight: dict[asyncio.Task[Completion], tuple[Permit, float]] = {}
        calls = attempts = 0  # every call made; those that were not hedges
        launch_at: float | None = self._clock()  # when the next call starts; None: no more
        hedging = False  # the next call is a hedge (not a retry)
        stopped: str | None = None
        try:
            while True:
                now = self._clock()
                if launch_at is not None and now >= launch_at:
                    launch_at = None
                    permit = permit or breaker.acquire()
                    if permit is None:
                        stopped = "the circuit opened"
                    elif deadline - now <= 0:
                        breaker.release(permit)
                        permit = None
                        if calls == 0:
                            record.error_type = "DeadlineExceeded"
                            record.error = "the deadline passed before this model was called"
                    else:
                        if hedging:
                            record.reason += f"; hedged after {hedge_after:g}s"
                            hedges -= 1
                        else:
                            attempts += 1
                        calls += 1
                        call = self._traced(
                            provider, request, deadline - now, model_id, position, calls - 1
                        )
                        flight[asyncio.ensure_future(call)] = (permit, now)
                        permit = None
                        hedging = hedge_after is not None and hedges > 0
                        if hedging and hedge_after is not None:
                            launch_at = now + hedge_after
                if not flight:
                    if launch_at is None:
                        break
                    await self._sleep(max(0.0, launch_at - self._clock()))
                    continue
                finished = await _first(flight, launch_at, self._clock, self._sleep)
                for task in finished:
                    call_permit, call_started = flight.pop(task)
                    latency_ms = (self._clock() - call_started) * 1000
                    error = task.exception()
                    if error is None:
                        breaker.success(call_permit)
                        health.record(True, latency_ms)
                        return task.result(), calls
                    if not isinstance(error, ProviderError):
                        breaker.release(call_permit)
                        if isinstance(error, MissingCredentialError):
                            _skipped_key(record, error)
                            return None, 0
                        raise error
                    if counts_against_provider(error):
                        breaker.failure(call_permit)
                        health.record(False, latency_ms)
                    else:
                        breaker.success(call_permit)
                    record.error_type, record.error = type(error).__name__, str(error)
                    if breaker.state == "open":
                        launch_at, stopped = None, "the circuit opened"
                        continue
                    decision = backoff.decide(error, attempts - 1, deadline - self._clock())
                    if decision.delay_s is None:
                        launch_at, stopped = None, decision.why
                    else:  # a retry, in place of any hedge that was due
                        launch_at, hedging, stopped = self._clock() + decision.delay_s, False, None
        finally:
            if permit is not None:
                breaker.release(permit)
            for task, (call_permit, _) in flight.items():
                task.cancel()
                breaker.release(call_permit)
            await asyncio.gather(*flight, return_exceptions=True)
        if stopped is not None:
            record.reason += f"; stopped: {stopped}"
        return None, calls

    def hedge_delay(self, model_id: str, policy: RetryPolicy) -> float | None:
        """How long a call may stay silent before its hedge: twice the model's recent p95
        (when its health window has enough calls), within hedge_min_s..hedge_after_s."""
        if policy.hedge_after_s is None:
            return None
        health = self.health[model_id]
        p95_ms = health.p95_ms
        if p95_ms is None or health.samples < self.config.health.min_samples:
            return policy.hedge_after_s
        wait = min(policy.hedge_after_s, max(policy.hedge_min_s, 2 * p95_ms / 1000))
        return round(wait, 2)

    async def _traced(
        self,
        provider: Provider,
        request: CompletionRequest,
        remaining: float,
        model_id: str,
        position: int,
        retry: int,
    ) -> Completion:
        with genai.provider_call(model_id, request, position=position, retry=retry) as span:
            done = await self._call(provider, request, remaining)
            genai.record_call(span, done, model_id)
        return done

    async def _call(
        self, provider: Provider, request: CompletionRequest, remaining: float
    ) -> Completion:
        """One upstream call, cut off at the deadline even if the adapter ignores it."""
        if remaining < request.timeout_s:
            request = request.model_copy(update={"timeout_s": remaining})
        try:
            async with asyncio.timeout(request.timeout_s):
                return await provider.complete(request)
        except TimeoutError:
            raise ProviderTimeoutError(
                f"no answer within {request.timeout_s:.3f}s", model=provider.model
            ) from None

    def _account(
        self,
        record: AttemptRecord,
        request: CompletionRequest,
        done: Completion,
        started: float,
        retry: int,
    ) -> Completion:
        """Mark the attempt answered; tokens (estimated when unreported) and list-price cost."""
        record.outcome, record.error_type, record.error = "ok", None, None
        record.retry_count = retry
        record.latency_ms = (self._clock() - started) * 1000
        return account(record, request, done, self.registry.get(record.model_id))

    async def _lookup(self, key: RouteKey, request: CompletionRequest) -> RoutedCompletion | None:
        if self.cache is None:
            return None
        try:
            hit = await self.cache.lookup(key, request)
        except Exception:
            log.exception("response cache lookup failed; routing as a miss")
            return None
        if hit is None:
            return None
        model_id = f"{hit.provider}:{hit.model}"
        record = AttemptRecord(
            model_id,
            0,
            "cache_hit",
            input_tokens=hit.input_tokens,
            output_tokens=hit.output_tokens,
            reason="cache hit",
        )
        metrics.observe_attempt(record, key.agent)
        return RoutedCompletion(hit, model_id, [record], cached=True, reason="cache hit")

    async def _store(
        self, key: RouteKey, request: CompletionRequest, routed: RoutedCompletion
    ) -> None:
        if self.cache is None:
            return
        try:
            await self.cache.store(key, request, routed)
        except Exception:
            log.exception("response cache store failed; the answer is still served")


async def _first(
    flight: Collection[asyncio.Task[Completion]], until: float | None, clock: Clock, sleep: Sleep
) -> set[asyncio.Task[Completion]]:
    """The calls that have finished, waiting for one or (when given) until `until`."""
    waiting: set[asyncio.Future[Any]] = set(flight)
    timer = None
    if until is not None:
        timer = asyncio.ensure_future(sleep(max(0.0, until - clock())))
        waiting.add(timer)
    try:
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if timer is not None:
            timer.cancel()
    return {task for task in flight if task in done}


def _skipped_key(record: AttemptRecord, exc: MissingCredentialError) -> AttemptRecord:
    record.outcome = "skipped_key"
    record.error_type, record.error = type(exc).__name__, str(exc)
    return record


class RoutedProvider(Provider):
    """A route that looks like one model: `complete` answers, `route` also tells how."""

    kind: ClassVar[str] = "router"
    needs_network: ClassVar[bool] = False

    def __init__(
        self, router: Router, key: RouteKey, *, first: str | None, exclude: frozenset[str]
    ) -> None:
        super().__init__(model=first or f"route:{key.task_type}")
        self.router = router
        self.key = key
        self.first = first
        self.exclude = exclude

    async def route(
        self, request: CompletionRequest, *, deadline_s: float | None = None
    ) -> RoutedCompletion:
        return await self.router.route(
            self.key, request, first=self.first, exclude=self.exclude, deadline_s=deadline_s
        )

    async def complete(self, request: CompletionRequest) -> Completion:
        return (await self.route(request)).completion
