"""The router's response cache: exact and semantic hits, scopes, versions, TTL, what is stored."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.routing.helpers import LOCAL, OPENAI, make_router, routing
from tests.support.scripted import ScriptedProvider
from triad.db.models import CacheEntry, CacheHit
from triad.errors import InvalidConfigError
from triad.knowledge.embedding import Embedder
from triad.metrics import REGISTRY
from triad.providers.base import ChatMessage, Completion, CompletionRequest
from triad.routing.cache import CacheConfig, CacheStore, normalise, numbers_in
from triad.routing.completion_cache import CachedCompletion, CompletionCache
from triad.routing.types import AttemptRecord, RoutedCompletion, RouteKey
from triad.settings import Settings

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
KEY = RouteKey(task_type="qa", priority="low", agent="pricing", prompt_version="p1")
HOLD = "What is the deposit to hold a date?"
ANSWER = "A $100 deposit holds your date."


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


def ask(
    text: str, *, system: str | None = None, max_tokens: int = 256, temperature: float = 0.2
) -> CompletionRequest:
    messages = [ChatMessage(role="system", content=system)] if system else []
    messages.append(ChatMessage(role="user", content=text))
    return CompletionRequest(messages=messages, max_tokens=max_tokens, temperature=temperature)


def make_cache(
    sessions: async_sessionmaker[AsyncSession],
    embedder: Embedder,
    clock: Clock | None = None,
    **raw: object,
) -> CompletionCache:
    config = CacheConfig.model_validate({"ttl_seconds": {"default": 3600}, **raw})
    return CompletionCache(CacheStore(config, embedder, clock or Clock()), sessions)


def routed(
    text: str = ANSWER, *, cost: float = 0.002, degraded: bool = False, cached: bool = False
) -> RoutedCompletion:
    done = Completion(
        text=text, model="gpt-4o-mini", provider="openai", input_tokens=20, output_tokens=9
    )
    attempt = AttemptRecord(OPENAI, 0, "ok", cost_usd=cost)
    return RoutedCompletion(
        completion=done, model_id=OPENAI, attempts=[attempt], degraded=degraded, cached=cached
    )


async def count(session: AsyncSession, model: type[CacheEntry] | type[CacheHit]) -> int:
    return (await session.scalar(select(func.count()).select_from(model))) or 0


def lookups(kind: str, result: str) -> float:
    sample = REGISTRY.get_sample_value(
        "triad_cache_lookups_total", {"kind": kind, "result": result}
    )
    return sample or 0.0


async def test_an_exact_hit_serves_the_same_answer_without_calling_a_model(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], embedder: Embedder
) -> None:
    model = ScriptedProvider(ANSWER)
    cache = make_cache(session_factory, embedder)
    router, _ = make_router({OPENAI: model, LOCAL: model}, routing(), cache=cache)
    first = await router.route(KEY, ask(HOLD))
    hits_before = lookups("exact", "hit")
    again = await router.route(KEY, ask("  what is the DEPOSIT to hold a date  "))
    assert len(model.history) == 1
    assert again.cached and again.completion.text == first.completion.text == ANSWER
    assert again.model_id == first.model_id == OPENAI
    assert lookups("exact", "hit") == hits_before + 1
    hit = await session.scalar(select(CacheHit))
    assert hit is not None and hit.kind == "exact" and hit.agent == "pricing"
    assert hit.saved_usd == pytest.approx(first.attempts[-1].cost_usd)
    entry = await session.scalar(select(CacheEntry))
    assert entry is not None and entry.hits == 1 and entry.model_id == OPENAI


async def test_a_close_paraphrase_is_a_semantic_hit_a_looser_one_needs_a_lower_threshold(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], embedder: Embedder
) -> None:
    strict = make_cache(session_factory, embedder)
    await strict.store(KEY, ask("what's the deposit to hold a date"), routed())
    close = await strict.lookup(KEY, ask("What is the deposit to hold a date?"))
    assert isinstance(close, CachedCompletion) and close.text == ANSWER
    assert close.cache_kind == "semantic" and close.similarity >= 0.95
    assert close.model_id == OPENAI and close.saved_usd == pytest.approx(0.002)
    assert f"{close.provider}:{close.model}" == OPENAI
    assert close.input_tokens is None and "semantic" in close.reason

    loose = ask("how much is the deposit to reserve the date")
    misses = lookups("semantic", "miss")
    assert await strict.lookup(KEY, loose) is None
    assert lookups("semantic", "miss") == misses + 1
    lenient = make_cache(session_factory, embedder, threshold=0.85)
    hit = await lenient.lookup(KEY, loose)
    assert isinstance(hit, CachedCompletion) and 0.85 <= hit.similarity < 0.95
    assert await lenient.lookup(KEY, ask("what is the deposit to cancel a date")) is None


async def test_different_numbers_never_hit_semantically(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], embedder: Embedder
) -> None:
    cache = make_cache(session_factory, embedder, threshold=0.5)
    await cache.store(KEY, ask("How much for 20 adults?"), routed("$1,200."))
    assert await cache.lookup(KEY, ask("How much for 25 adults?")) is None
    assert await cache.lookup(KEY, ask("how much for 20 adults, please")) is not None
    assert numbers_in("20 adults and 5 kids at 6:30") == "20 5 6:30"


@pytest.mark.parametrize(
    "changed",
    [
        {"knowledge_version": 2},
        {"prompt_version": "p2"},
        {"priority": "high"},
        {"agent": "menu"},
        {"task_type": "summarize"},
    ],
)
async def test_a_changed_version_or_route_is_a_miss(
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    embedder: Embedder,
    changed: dict[str, Any],
) -> None:
    cache = make_cache(session_factory, embedder)
    v1 = replace(KEY, knowledge_version=1)
    await cache.store(v1, ask(HOLD), routed())
    assert await cache.lookup(v1, ask(HOLD)) is not None
    other = replace(v1, **changed)
    assert await cache.lookup(other, ask(HOLD)) is None
    assert await cache.lookup(other, ask("what's the deposit to hold a date")) is None


async def test_the_rest_of_the_conversation_and_the_parameters_are_part_of_the_key(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], embedder: Embedder
) -> None:
    cache = make_cache(session_factory, embedder)
    await cache.store(KEY, ask(HOLD, system="Answer in French."), routed())
    assert await cache.lookup(KEY, ask(HOLD, system="Answer in French.")) is not None
    assert await cache.lookup(KEY, ask(HOLD, system="Answer in German.")) is None
    assert await cache.lookup(KEY, ask(HOLD)) is None
    assert await cache.lookup(KEY, ask(HOLD, system="Answer in French.", max_tokens=64)) is None


async def test_entries_expire_and_are_pruned(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], embedder: Embedder
) -> None:
    clock = Clock()
    cache = make_cache(session_factory, embedder, clock, ttl_seconds={"default": 60})
    await cache.store(KEY, ask(HOLD), routed())
    clock.now = T0 + timedelta(seconds=59)
    assert await cache.lookup(KEY, ask(HOLD)) is not None
    clock.now = T0 + timedelta(seconds=60)
    assert await cache.lookup(KEY, ask(HOLD)) is None
    assert await cache.lookup(KEY, ask("what's the deposit to hold a date")) is None
    await cache.store(KEY, ask("Another question?"), routed())
    assert await count(session, CacheEntry) == 1  # the expired one was pruned on store
    assert await count(session, CacheHit) == 1  # its hit stays for the cost report


async def test_ttl_is_per_agent_and_zero_turns_it_off(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], embedder: Embedder
) -> None:
    clock = Clock()
    cache = make_cache(
        session_factory, embedder, clock, ttl_seconds={"default": 60, "pricing": 600, "menu": 0}
    )
    await cache.store(KEY, ask(HOLD), routed())
    await cache.store(RouteKey(task_type="qa", agent="menu"), ask(HOLD), routed())
    assert await count(session, CacheEntry) == 1
    clock.now = T0 + timedelta(seconds=599)
    assert await cache.lookup(KEY, ask(HOLD)) is not None


async def test_what_is_never_cached(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], embedder: Embedder
) -> None:
    cache = make_cache(session_factory, embedder)
    hot = ask(HOLD, temperature=0.9)
    await cache.store(KEY, hot, routed())
    await cache.store(KEY, ask(HOLD), routed(degraded=True))
    await cache.store(KEY, ask(HOLD), routed(cached=True))
    cut = routed()
    cut.completion.finish_reason = "length"
    await cache.store(KEY, ask(HOLD), cut)
    await cache.store(
        RouteKey(task_type="chat.menu", agent="menu", role="teacher"), ask(HOLD), routed()
    )
    assert await count(session, CacheEntry) == 0
    await cache.store(KEY, ask(HOLD), routed())
    assert await cache.lookup(KEY, hot) is None  # hot requests are not served either
    assert await cache.lookup(KEY, ask(HOLD)) is not None


async def test_long_questions_get_exact_hits_only(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession], embedder: Embedder
) -> None:
    cache = make_cache(session_factory, embedder, semantic_max_chars=40)
    long = "Please summarise our whole deposit and cancellation policy for a wedding."
    await cache.store(KEY, ask(long), routed())
    entry = await session.scalar(select(CacheEntry))
    assert entry is not None and entry.embedding is None
    assert await cache.lookup(KEY, ask(long)) is not None
    assert await cache.lookup(KEY, ask(long + " Thanks")) is None


async def test_a_broken_database_is_a_miss_not_a_failure(embedder: Embedder) -> None:
    from triad.db.session import make_engine, make_session_factory

    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        cache = make_cache(make_session_factory(engine), embedder)
        assert await cache.lookup(KEY, ask(HOLD)) is None
        await cache.store(KEY, ask(HOLD), routed())
    finally:
        await engine.dispose()


def test_normalise_folds_case_space_and_closing_punctuation() -> None:
    assert normalise("  What IS\tthe deposit?? ") == "what is the deposit"
    assert normalise("\uff37\uff48\uff41\uff54")  # full-width letters == "what"


def test_the_shipped_cache_config_loads_and_bad_ones_are_named(tmp_path: Path) -> None:
    shipped = CacheConfig.from_yaml(Settings().cache_config)
    assert shipped.threshold == 0.95 and shipped.ttl("booking") == 0
    assert shipped.ttl("summarize") == shipped.ttl_seconds["default"]
    bad = tmp_path / "cache.yaml"
    bad.write_text("ttl_seconds: {menu: 5}\n")
    with pytest.raises(InvalidConfigError, match="default"):
        CacheConfig.from_yaml(bad)
    bad.write_text("threshhold: 0.9\n")
    with pytest.raises(InvalidConfigError, match="threshhold"):
        CacheConfig.from_yaml(bad)
