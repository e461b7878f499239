"""Engine and session factories; the one place that knows how Triad talks to PostgreSQL."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def make_engine(url: str, *, pool_size: int = 5) -> AsyncEngine:
    """An async engine on psycopg 3; `pool_pre_ping` survives a restarted embedded server."""
    return create_async_engine(url, pool_size=pool_size, pool_pre_ping=True)


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (API responses read them)."""
    return async_sessionmaker(engine, expire_on_commit=False)
