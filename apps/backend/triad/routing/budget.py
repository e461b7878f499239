"""Daily budgets (USD and tokens, per agent and per task type) and per-request token caps.

The guard answers, before each model is tried, whether that model still fits. Spend comes from
`provider_calls` (the rows every call writes), summed over the budget's day in the business's
time zone.

Concurrency trade-off: reading the sum on every call would add a query per model tried, so a
budget's spend is read at most once per `refresh_seconds` per process, and every call allowed in
between reserves its worst case (estimated prompt + `max_tokens` at the model's price) in
memory until the next read. Within one process this errs on the side of refusing early; across
N replicas each holds its own reservations, so together they can overshoot a budget by what the
others allow inside one refresh window. An exact limit would need a locked counter row per
budget and day, serialising every call through one hot row; a few seconds of slack is the
better deal for a daily budget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from triad.config_files import TimeZoneName, load_yaml_model
from triad.db.models import ProviderCall
from triad.errors import BudgetExceededError, RequestCapExceededError
from triad.providers.base import CompletionRequest
from triad.providers.registry import ModelRegistry
from triad.routing.tokens import estimate_prompt_tokens
from triad.routing.types import BudgetDecision, RouteKey

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class DailyLimit(BaseModel):
    """One budget: USD and/or tokens per day; an omitted field means no limit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    usd_per_day: float | None = Field(default=None, ge=0)
    tokens_per_day: int | None = Field(default=None, ge=0)


class RequestCaps(BaseModel):
    """Limits on one request, whatever its budget."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_prompt_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)


class BudgetConfig(BaseModel):
    """`config/budgets.yaml`; `task_types.default` applies to each task type not listed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: TimeZoneName = "UTC"
    refresh_seconds: float = Field(default=5.0, ge=0)
    per_request: RequestCaps = RequestCaps()
    agents: dict[str, DailyLimit] = Field(default_factory=dict)
    task_types: dict[str, DailyLimit] = Field(default_factory=dict)

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    def day_bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """Local midnight to the next local midnight around `now` (DST-safe)."""
        today = now.astimezone(self.zone).date()
        return self.midnight(today), self.midnight(today + timedelta(days=1))

    def midnight(self, day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=self.zone)

    def budgets_for(self, key: RouteKey) -> list[tuple[str, str, str, DailyLimit]]:
        """(name prefix, column, value, limit) of every daily budget that applies to `key`."""
        found = []
        if key.agent and key.agent in self.agents:
            found.append((f"agents.{key.agent}", "agent", key.agent, self.agents[key.agent]))
        task = key.task_type if key.task_type in self.task_types else "default"
        if task in self.task_types:
            found.append((f"task_types.{task}", "task_type", key.task_type, self.task_types[task]))
        return found

    @classmethod
    def from_yaml(cls, path: Path) -> BudgetConfig:
        return load_yaml_model(cls, path, "budgets", empty_ok=True)


@dataclass
class _Spend:
    usd: float
    tokens: int
    read_at: datetime
    reserved_usd: float = 0.0
    reserved_tokens: int = 0


async def spend_since(
    session: AsyncSession, *, column: str, value: str, start: datetime, end: datetime
) -> tuple[float, int]:
    """USD and tokens spent by calls whose `column` equals `value` in [start, end).

    Cache hits are not spend (their rows carry no cost, and their tokens were not used).
    """
    tokens = func.coalesce(ProviderCall.input_tokens, 0) + func.coalesce(
        ProviderCall.output_tokens, 0
    )
    stmt = select(
        func.coalesce(func.sum(ProviderCall.cost_usd), 0.0), func.coalesce(func.sum(tokens), 0)
    ).where(
        getattr(ProviderCall, column) == value,
        ProviderCall.created_at >= start,
        ProviderCall.created_at < end,
        ProviderCall.outcome != "cache_hit",
    )
    usd, used = (await session.execute(stmt)).one()
    return float(usd), int(used)


def refusal_error(
    decision: BudgetDecision, *, retry_after: float | None = None
) -> BudgetExceededError:
    """The typed error for a refusal: 422 for a per-request cap, 429 for a daily budget."""
    name = decision.budget or "budget"
    if decision.status_code == 422:
        return RequestCapExceededError(decision.reason, budget=name)
    return BudgetExceededError(decision.reason, budget=name, retry_after=retry_after)


class DailyBudgetGuard:
    """`BudgetGuard` over `provider_calls`: refuses a model that would go over a budget."""

    def __init__(
        self,
        config: BudgetConfig,
        registry: ModelRegistry,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Clock = utc_now,
    ) -> None:
        self.config = config
        self._registry = registry
        self._sessions = sessions
        self._clock = clock
        self._spend: dict[tuple[str, str, datetime], _Spend] = {}
        self._locks: dict[tuple[str, str, datetime], asyncio.Lock] = {}
        self._last: tuple[CompletionRequest, int] | None = None

    def prompt_tokens(self, request: CompletionRequest) -> int:
        """The estimate for a request, memoised for the models tried after the first."""
        if self._last is not None and self._last[0] is request:
            return self._last[1]
        tokens = estimate_prompt_tokens(request)
        self._last = (request, tokens)
        return tokens

    def check_caps(self, request: CompletionRequest) -> BudgetDecision | None:
        """A 422 refusal when the request alone is over a per-request cap, else None."""
        caps = self.config.per_request
        if caps.max_prompt_tokens is not None:
            prompt = self.prompt_tokens(request)
            if prompt > caps.max_prompt_tokens:
                return BudgetDecision(
                    allowed=False,
                    budget="per_request.max_prompt_tokens",
                    reason=f"the prompt is about {prompt} tokens; per_request.max_prompt_tokens "
                    f"allows {caps.max_prompt_tokens}",
                    status_code=422,
                )
        limit = caps.max_completion_tokens
        if limit is not None and request.max_tokens > limit:
            return BudgetDecision(
                allowed=False,
                budget="per_request.max_completion_tokens",
                reason=f"max_tokens {request.max_tokens} is over "
                f"per_request.max_completion_tokens ({limit})",
                status_code=422,
            )
        return None

    async def check(
        self, key: RouteKey, model_id: str, request: CompletionRequest
    ) -> BudgetDecision:
        """Allowed, or refused naming the budget (422 for a cap, 429 for a daily budget)."""
        refused = self.check_caps(request)
        if refused is not None:
            return refused
        budgets = self.config.budgets_for(key)
        if not budgets:
            return BudgetDecision(allowed=True)
        prompt = self.prompt_tokens(request)
        tokens = prompt + request.max_tokens
        usd = self._registry.get(model_id).cost_usd(prompt, request.max_tokens)
        start, end = self.config.day_bounds(self._clock())
        spends = [await self._current(column, value, start, end) for _, column, value, _ in budgets]
        for (name, _, _, limit), spend in zip(budgets, spends, strict=True):
            if limit.usd_per_day is not None and usd > 0:
                spent = spend.usd + spend.reserved_usd
                if spent + usd > limit.usd_per_day:
                    return self._refuse(
                        f"{name}.usd_per_day",
                        f"{model_id} would cost up to ${usd:.6f}; ${spent:.6f} of "
                        f"${limit.usd_per_day:.2f} spent today",
                    )
            if limit.tokens_per_day is not None:
                used = spend.tokens + spend.reserved_tokens
                if used + tokens > limit.tokens_per_day:
                    return self._refuse(
                        f"{name}.tokens_per_day",
                        f"the call needs up to {tokens} tokens; {used} of "
                        f"{limit.tokens_per_day} used today",
                    )
        for spend in spends:
            spend.reserved_usd += usd
            spend.reserved_tokens += tokens
        return BudgetDecision(allowed=True)

    def error(self, decision: BudgetDecision) -> BudgetExceededError:
        """The error to raise when `decision` refused every model; a 429 says when to retry."""
        now = self._clock()
        return refusal_error(
            decision, retry_after=(self.config.day_bounds(now)[1] - now).total_seconds()
        )

    def _refuse(self, budget: str, reason: str) -> BudgetDecision:
        return BudgetDecision(allowed=False, budget=budget, reason=f"{budget}: {reason}")

    async def _current(self, column: str, value: str, start: datetime, end: datetime) -> _Spend:
        """This budget's spend, read again once it is `refresh_seconds` old (one reader)."""
        slot = (column, value, start)
        lock = self._locks.setdefault(slot, asyncio.Lock())
        async with lock:
            now = self._clock()
            known = self._spend.get(slot)
            fresh = known is not None and (
                (now - known.read_at).total_seconds() < self.config.refresh_seconds
            )
            if known is None or not fresh:
                async with self._sessions() as session:
                    usd, tokens = await spend_since(
                        session, column=column, value=value, start=start, end=end
                    )
                known = _Spend(usd=usd, tokens=tokens, read_at=now)
                self._drop_old_days(start)
                self._spend[slot] = known
            return known

    def _drop_old_days(self, start: datetime) -> None:
        for slot in [s for s in self._spend if s[2] < start]:
            del self._spend[slot]
            self._locks.pop(slot, None)
