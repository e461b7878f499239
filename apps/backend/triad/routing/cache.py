"""The exact + semantic answer cache in PostgreSQL and pgvector, shared by the router and turns.

An entry's `scope` is a hash of everything that must match exactly besides the question (kind,
tenant, agent or route, the rest of the conversation, request parameters, business rules);
its prompt and knowledge versions are columns. A lookup first tries the exact key (scope +
normalised question + both versions), then the nearest stored question of the same scope and
versions by cosine similarity. Both lookups filter on the current versions, so an answer made
from facts that have since changed can never be served.

The semantic search is an exact scan over one scope's live entries, not an HNSW index: the
scope and version filters cut the candidates to one agent's current answers (hundreds, a few
thousand at most, milliseconds to scan), and an approximate index filters after it searches,
so a selective WHERE can make it miss entries that are there. Two questions must also carry
the same numbers, in order ("for 20 adults" never answers "for 25 adults"), whatever their
similarity: that is where semantic caches serve stale or wrong prices.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from triad import metrics
from triad.config_files import load_yaml_model
from triad.db.models import CacheEntry, CacheHit
from triad.knowledge.embedding import TextEmbedder

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
EntryKind = Literal["completion", "turn"]
HitKind = Literal["exact", "semantic"]

_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")


def utc_now() -> datetime:
    return datetime.now(UTC)


class CacheConfig(BaseModel):
    """`config/cache.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    semantic: bool = True
    threshold: float = Field(default=0.95, gt=0.0, le=1.0)
    semantic_max_chars: int = Field(default=500, ge=1)
    max_temperature: float = Field(default=0.3, ge=0.0, le=2.0)
    ttl_seconds: dict[str, int] = Field(default_factory=lambda: {"default": 86_400})
    prune_seconds: float = Field(default=60.0, ge=0.0)

    @field_validator("ttl_seconds")
    @classmethod
    def _ttls(cls, value: dict[str, int]) -> dict[str, int]:
        if "default" not in value:
            raise ValueError("ttl_seconds needs a 'default' entry")
        if any(v < 0 for v in value.values()):
            raise ValueError("ttl_seconds values must be 0 (off) or more")
        return value

    def ttl(self, *names: str | None) -> int:
        """Seconds an entry lives: the first of `names` that has a TTL, else the default."""
        for name in names:
            if name and name in self.ttl_seconds:
                return self.ttl_seconds[name]
        return self.ttl_seconds["default"]

    @classmethod
    def from_yaml(cls, path: Path) -> CacheConfig:
        return load_yaml_model(cls, path, "cache", empty_ok=True)


def normalise(text: str) -> str:
    """Unicode-folded, lower-cased, whitespace-folded, without closing punctuation."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(folded.split()).strip(" ?!.")


def numbers_in(text: str) -> str:
    """The numbers of a text in order (`20 5`), which a semantic hit must repeat exactly."""
    return " ".join(_NUMBER.findall(text))


def digest(*parts: Any) -> str:
    """A stable sha256 of JSON-able parts."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class CacheScope:
    """Where an answer may be reused, and the normalised question it answers."""

    kind: EntryKind
    scope: str
    question: str
    prompt_version: str
    knowledge_version: int | None
    ttl_s: int
    tenant: str | None = None
    agent: str | None = None
    task_type: str | None = None

    @property
    def numbers(self) -> str:
        return numbers_in(self.question)

    @property
    def exact_key(self) -> str:
        return digest(self.scope, self.question, self.prompt_version, self.knowledge_version)


@dataclass
class Found:
    """A live entry that answers the question, and how it was found."""

    entry: CacheEntry
    kind: HitKind
    similarity: float

    @property
    def reason(self) -> str:
        how = "exact" if self.kind == "exact" else f"semantic {self.similarity:.3f}"
        return f"{how} cache hit (entry {self.entry.id}), saved ${self.entry.cost_usd:.6f}"


@dataclass
class CacheStore:
    """Finds, saves and prunes entries and records hits, inside the caller's session."""

    config: CacheConfig
    embedder: TextEmbedder
    clock: Clock = utc_now
    _vectors: OrderedDict[str, list[float]] = field(default_factory=OrderedDict, init=False)
    _pruned_at: datetime | None = field(default=None, init=False)

    def semantic_for(self, scope: CacheScope) -> bool:
        return self.config.semantic and 0 < len(scope.question) <= self.config.semantic_max_chars

    async def vector(self, question: str) -> list[float]:
        """The question's embedding, remembered for the store that follows a miss."""
        known = self._vectors.get(question)
        if known is None:
            known = [float(x) for x in (await self.embedder.aembed([question]))[0]]
            self._vectors[question] = known
            while len(self._vectors) > 512:
                self._vectors.popitem(last=False)
        self._vectors.move_to_end(question)
        return known

    async def find(self, session: AsyncSession, scope: CacheScope) -> Found | None:
        """Exact, then semantic; counts each lookup's hit or miss."""
        now = self.clock()
        live = CacheEntry.expires_at > now
        exact = await session.scalar(
            select(CacheEntry).where(CacheEntry.exact_key == scope.exact_key, live)
        )
        metrics.count_cache("exact", exact is not None)
        if exact is not None:
            return Found(exact, "exact", 1.0)
        if not self.semantic_for(scope):
            return None
        distance = CacheEntry.embedding.cosine_distance(await self.vector(scope.question))
        row = (
            await session.execute(
                select(CacheEntry, distance)
                .where(
                    CacheEntry.scope == scope.scope,
                    CacheEntry.prompt_version == scope.prompt_version,
                    CacheEntry.knowledge_version.is_not_distinct_from(scope.knowledge_version),
                    CacheEntry.numbers == scope.numbers,
                    CacheEntry.embedding.is_not(None),
                    live,
                )
                .order_by(distance)
                .limit(1)
            )
        ).first()
        similarity = 1.0 - float(row[1]) if row is not None else 0.0
        hit = row is not None and similarity >= self.config.threshold
        metrics.count_cache("semantic", hit)
        return Found(row[0], "semantic", similarity) if row is not None and hit else None

    async def save(
        self,
        session: AsyncSession,
        scope: CacheScope,
        *,
        model_id: str,
        response: str,
        input_tokens: int | None,
        output_tokens: int | None,
        cost_usd: float,
        meta: dict[str, Any],
    ) -> None:
        """Insert or refresh the entry for `scope`; prunes expired entries now and then."""
        if scope.ttl_s <= 0:
            return
        now = self.clock()
        embedding = await self.vector(scope.question) if self.semantic_for(scope) else None
        values: dict[str, Any] = {
            "model_id": model_id,
            "response": response,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cost_usd": cost_usd,
            "meta": meta,
            "embedding": embedding,
            "expires_at": now + timedelta(seconds=scope.ttl_s),
        }
        stmt = insert(CacheEntry).values(
            kind=scope.kind,
            exact_key=scope.exact_key,
            scope=scope.scope,
            tenant=scope.tenant,
            agent=scope.agent,
            task_type=scope.task_type,
            prompt_version=scope.prompt_version,
            knowledge_version=scope.knowledge_version,
            question=scope.question,
            numbers=scope.numbers,
            hits=0,
            **values,
        )
        await session.execute(
            stmt.on_conflict_do_update(index_elements=[CacheEntry.exact_key], set_=values)
        )
        due = self._pruned_at is None or (
            (now - self._pruned_at).total_seconds() >= self.config.prune_seconds
        )
        if due:
            await self.prune(session)

    async def prune(self, session: AsyncSession) -> int:
        """Delete expired entries (their hits stay, for the cost report); returns how many."""
        now = self.clock()
        self._pruned_at = now
        result = await session.execute(delete(CacheEntry).where(CacheEntry.expires_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)

    async def record_hit(
        self,
        session: AsyncSession,
        found: Found,
        *,
        agent: str | None,
        task_type: str | None,
        tenant: str | None = None,
        message_id: int | None = None,
    ) -> CacheHit:
        """Count the hit on its entry and keep what it saved (the entry's original cost)."""
        entry = found.entry
        await session.execute(
            update(CacheEntry).where(CacheEntry.id == entry.id).values(hits=CacheEntry.hits + 1)
        )
        provider, _, model = entry.model_id.partition(":")
        hit = CacheHit(
            entry_id=entry.id,
            message_id=message_id,
            kind=found.kind,
            similarity=found.similarity,
            tenant=tenant,
            agent=agent,
            task_type=task_type,
            provider=provider,
            model=model or provider,
            saved_usd=entry.cost_usd,
            saved_tokens=(entry.input_tokens or 0) + (entry.output_tokens or 0),
        )
        session.add(hit)
        await session.flush()
        return hit
