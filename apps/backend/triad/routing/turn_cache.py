"""The turn-level cache: a checked ensemble reply reused for the same (or a paraphrased) question.

Key: tenant, agent, the business rules' facts, the normalised question, the prompt version and
the knowledge version. Only turns the critic let through as `send` (a clean winner, consensus
at or above the threshold) are stored, so a cached reply still counts as checked: it was checked
when stored. Which turns take part, and how a hit is recorded as a turn of its own, is in
`triad.conversations.cached_turns`. Everything happens in the chat service's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from triad.db.models import CacheHit
from triad.routing.cache import CacheScope, CacheStore, Found, digest, normalise


@dataclass(frozen=True)
class CachedTurn:
    """A stored checked reply and how it was found."""

    found: Found

    @property
    def reply(self) -> str:
        return self.found.entry.response

    @property
    def model_id(self) -> str:
        return self.found.entry.model_id

    @property
    def consensus(self) -> float:
        return float(self.found.entry.meta.get("consensus", 0.0))

    @property
    def winner(self) -> str | None:
        winner = self.found.entry.meta.get("winner")
        return str(winner) if winner is not None else None

    @property
    def passage_ids(self) -> list[int]:
        return [int(i) for i in self.found.entry.meta.get("passage_ids", [])]

    @property
    def source_message_id(self) -> int | None:
        source = self.found.entry.meta.get("message_id")
        return int(source) if source is not None else None

    @property
    def reason(self) -> str:
        return self.found.reason


class TurnCache:
    """Looks up and stores checked replies, in the caller's session (one transaction a turn)."""

    def __init__(self, entries: CacheStore) -> None:
        self.entries = entries

    def scope_for(
        self,
        *,
        tenant: str,
        agent: str,
        question: str,
        prompt_version: str,
        knowledge_version: int,
        facts: Sequence[str],
    ) -> CacheScope | None:
        """Where a reply to `question` may be reused; None when this agent is not cached."""
        config = self.entries.config
        ttl = config.ttl(agent)
        if not config.enabled or ttl <= 0:
            return None
        return CacheScope(
            kind="turn",
            scope=digest("turn", tenant, agent, list(facts)),
            question=normalise(question),
            prompt_version=prompt_version,
            knowledge_version=knowledge_version,
            ttl_s=ttl,
            tenant=tenant,
            agent=agent,
            task_type=f"chat.{agent}",
        )

    async def lookup(self, session: AsyncSession, scope: CacheScope) -> CachedTurn | None:
        found = await self.entries.find(session, scope)
        return CachedTurn(found) if found is not None else None

    async def record_hit(
        self, session: AsyncSession, turn: CachedTurn, scope: CacheScope, *, message_id: int
    ) -> CacheHit:
        return await self.entries.record_hit(
            session,
            turn.found,
            agent=scope.agent,
            task_type=scope.task_type,
            tenant=scope.tenant,
            message_id=message_id,
        )

    async def store_reply(
        self,
        session: AsyncSession,
        scope: CacheScope,
        *,
        reply: str,
        model_id: str,
        winner: str,
        consensus: float,
        passage_ids: Sequence[int | None],
        cost_usd: float,
        input_tokens: int | None,
        output_tokens: int | None,
        message_id: int,
    ) -> None:
        """Keep a reply the critic sent as `send`, with what producing it cost."""
        await self.entries.save(
            session,
            scope,
            model_id=model_id,
            response=reply,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=cost_usd,
            meta={
                "winner": winner,
                "consensus": consensus,
                "passage_ids": [i for i in passage_ids if i is not None],
                "message_id": message_id,
            },
        )
