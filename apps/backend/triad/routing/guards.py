"""Build what the router and the chat service consult (budgets, caches) once per process.

Both caches share one `CacheStore`, so an embedding computed for a lookup is reused by the
store that follows a miss, and expired entries are pruned on one schedule.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from triad.knowledge.embedding import TextEmbedder
from triad.providers.registry import ModelRegistry
from triad.routing.budget import BudgetConfig, DailyBudgetGuard
from triad.routing.cache import CacheConfig, CacheStore, Clock, utc_now
from triad.routing.completion_cache import CompletionCache
from triad.routing.turn_cache import TurnCache
from triad.settings import Settings


@dataclass(frozen=True)
class Guards:
    """The budget guard and the router's cache (for `Router`), the turn cache (for chat)."""

    budget: DailyBudgetGuard
    completions: CompletionCache
    turns: TurnCache


def build_guards(
    settings: Settings,
    registry: ModelRegistry,
    embedder: TextEmbedder,
    sessions: async_sessionmaker[AsyncSession],
    *,
    clock: Clock = utc_now,
) -> Guards:
    """Read `budgets.yaml` and `cache.yaml`; a mistake in either is an InvalidConfigError."""
    budgets = BudgetConfig.from_yaml(settings.budgets_config)
    store = CacheStore(CacheConfig.from_yaml(settings.cache_config), embedder, clock)
    return Guards(
        budget=DailyBudgetGuard(budgets, registry, sessions, clock=clock),
        completions=CompletionCache(store, sessions),
        turns=TurnCache(store),
    )
