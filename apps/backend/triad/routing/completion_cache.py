"""`ResponseCache` for the router (`/llm/complete`, `/v1/chat/completions`).

Which requests are cached (a documented rule): temperature at most `max_temperature` (a hotter
request asks for variety); answers that finished with `stop` (not cut by `max_tokens` or a
filter), not degraded (a lower tier's answer would outlive the outage) and not themselves from
the cache. The scope is the route (task_type, priority, agent, role), every message but the
last user one, the context passages, `max_tokens` and `stop`; the question is the last user
message. The cache is shared between callers (`user_id` is not part of the key): an exact hit
needs the very same prompt, a semantic one a paraphrase with the same numbers. Ensemble roles
(keys with a `role`) are not cached here: the turn cache covers whole checked turns, and every
turn it does not serve gets fresh answers from both roles for the critic to compare.

A cache that fails (database unreachable) is a miss, never a failed call.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from triad.providers.base import Completion, CompletionRequest, FinishReason
from triad.routing.cache import CacheScope, CacheStore, digest, normalise
from triad.routing.types import RoutedCompletion, RouteKey

log = logging.getLogger(__name__)


class CachedCompletion(Completion):
    """A completion served from the cache: no tokens used, and what it saved.

    `provider` and `model` are the two halves of the registry id that answered (`model_id`),
    so `f"{provider}:{model}"` names it. The router records it as a `cache_hit` attempt with
    `reason`, zero cost and no tokens (the saving itself is kept in `cache_hits`).
    """

    cache_kind: str
    entry_id: int
    similarity: float
    saved_usd: float
    model_id: str
    reason: str


class CompletionCache:
    """Exact then semantic lookups for routed completions, each in a short session of its own."""

    def __init__(self, entries: CacheStore, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.entries = entries
        self._sessions = sessions

    def scope_for(self, key: RouteKey, request: CompletionRequest) -> CacheScope | None:
        """Where this request's answer may be reused, or None when it must not be cached."""
        config = self.entries.config
        if not config.enabled or key.role is not None:
            return None
        if request.temperature > config.max_temperature:
            return None
        ttl = config.ttl(key.agent, key.task_type)
        if ttl <= 0:
            return None
        question = request.question
        last_user = max(
            (i for i, m in enumerate(request.messages) if m.role == "user"),
            default=len(request.messages) - 1,
        )
        others = [
            (m.role, normalise(m.content)) for i, m in enumerate(request.messages) if i != last_user
        ]
        scope = digest(
            "completion",
            key.task_type,
            key.priority,
            key.agent,
            key.role,
            others,
            [normalise(p.text) for p in request.context],
            request.max_tokens,
            request.stop,
        )
        return CacheScope(
            kind="completion",
            scope=scope,
            question=normalise(question),
            prompt_version=key.prompt_version or "",
            knowledge_version=key.knowledge_version,
            ttl_s=ttl,
            agent=key.agent,
            task_type=key.task_type,
        )

    async def lookup(self, key: RouteKey, request: CompletionRequest) -> Completion | None:
        """A stored answer for this request, recorded as a hit; None on a miss."""
        scope = self.scope_for(key, request)
        if scope is None:
            return None
        started = time.perf_counter()
        try:
            async with self._sessions() as session:
                found = await self.entries.find(session, scope)
                if found is None:
                    return None
                await self.entries.record_hit(
                    session, found, agent=key.agent, task_type=key.task_type
                )
                await session.commit()
        except SQLAlchemyError as exc:
            log.warning("cache lookup failed, treated as a miss: %s", exc)
            return None
        entry = found.entry
        finish: FinishReason = (entry.meta or {}).get("finish_reason", "stop")
        provider, _, model = entry.model_id.partition(":")
        return CachedCompletion(
            text=entry.response,
            model=model,
            provider=provider,
            input_tokens=None,
            output_tokens=None,
            latency_ms=(time.perf_counter() - started) * 1000,
            finish_reason=finish,
            cache_kind=found.kind,
            entry_id=entry.id,
            similarity=found.similarity,
            saved_usd=entry.cost_usd,
            model_id=entry.model_id,
            reason=found.reason,
        )

    async def store(
        self, key: RouteKey, request: CompletionRequest, routed: RoutedCompletion
    ) -> None:
        """Keep a fresh, complete, non-degraded answer for the requests that may reuse it."""
        done = routed.completion
        if routed.cached or routed.degraded or isinstance(done, CachedCompletion):
            return
        if done.finish_reason != "stop" or not done.text.strip():
            return
        scope = self.scope_for(key, request)
        if scope is None:
            return
        cost = sum(a.cost_usd for a in routed.attempts if a.outcome == "ok")
        try:
            async with self._sessions() as session:
                await self.entries.save(
                    session,
                    scope,
                    model_id=routed.model_id,
                    response=done.text,
                    input_tokens=done.input_tokens,
                    output_tokens=done.output_tokens,
                    cost_usd=cost,
                    meta={
                        "provider": done.provider,
                        "model": done.model,
                        "finish_reason": done.finish_reason,
                    },
                )
                await session.commit()
        except SQLAlchemyError as exc:
            log.warning("cache store failed, answer not cached: %s", exc)
