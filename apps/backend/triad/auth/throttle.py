"""Sliding-window rate limits kept in PostgreSQL, so every replica counts the same requests.

A bucket (`login-ip:203.0.113.7`, `chat-session-ip:...`, `api-key:12`) is one row holding the
times of the hits still inside its window. A hit locks the row (an upsert), drops the times
that left the window, and is recorded only when fewer than `limit` remain: refused requests
do not count, so a client that waits `retry_after` seconds always gets in. The window is
exact (a log, not two fixed windows) and its clock is the database's, not a replica's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from triad.db.models import RateLimit

SWEEP_CHANCE = 0.01
"""The share of hits that also delete buckets whose window has emptied (abandoned addresses)."""


@dataclass(frozen=True)
class Verdict:
    """`allowed`, or refused with the seconds until the oldest hit leaves the window."""

    allowed: bool
    retry_after: float = 0.0
    remaining: int = 0


async def hit(
    session: AsyncSession,
    bucket: str,
    *,
    limit: int,
    window_seconds: float,
    now: datetime | None = None,
) -> Verdict:
    """Count one request against `bucket` unless `limit` hits are already in the window.

    Runs and commits its own transaction on `session` (the row is locked only that long);
    `now` is for tests, the database's clock otherwise.
    """
    window = timedelta(seconds=window_seconds)
    at = literal(now) if now is not None else func.statement_timestamp()
    upsert = (
        insert(RateLimit)
        .values(bucket=bucket, hits=[], expires_at=at)
        .on_conflict_do_update(index_elements=[RateLimit.bucket], set_={"bucket": bucket})
        .returning(RateLimit.hits, at)
    )
    try:
        hits, current = (await session.execute(upsert)).one()
        live = sorted(h for h in hits if h > current - window)
        allowed = len(live) < limit
        if allowed:
            live.append(current)
        await session.execute(
            update(RateLimit)
            .where(RateLimit.bucket == bucket)
            .values(hits=live, expires_at=max(live, default=current) + window)
        )
        if random.random() < SWEEP_CHANCE:
            await session.execute(delete(RateLimit).where(RateLimit.expires_at < current))
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    if allowed:
        return Verdict(True, remaining=limit - len(live))
    retry_after = (live[len(live) - limit] + window - current).total_seconds()
    return Verdict(False, retry_after=max(retry_after, 0.001))


async def hits_in_window(session: AsyncSession, bucket: str, window_seconds: float) -> int:
    """How many hits `bucket` holds inside its window now (for reports and tests)."""
    hits = await session.scalar(select(RateLimit.hits).where(RateLimit.bucket == bucket))
    if not hits:
        return 0
    now = await session.scalar(select(func.statement_timestamp()))
    assert now is not None
    return sum(1 for h in hits if h > now - timedelta(seconds=window_seconds))
