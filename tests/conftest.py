"""Shared fixtures: a real embedded PostgreSQL with pgvector, migrated by Alembic, per run.

The test database is separate from the one `make run` serves (`triad_test`, or the name in
TRIAD_TEST_DATABASE so parallel runs can keep apart), dropped and re-created at the start of
every run so no state leaks between runs.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from triad.db import migrate
from triad.db.embedded import drop_database, ensure_database
from triad.db.models import Base
from triad.db.session import make_engine, make_session_factory
from triad.knowledge.embedding import Embedder, get_embedder
from triad.settings import Settings

TEST_DATABASE = os.environ.get("TRIAD_TEST_DATABASE", "triad_test")


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings()


@pytest.fixture(scope="session")
def database_url(settings: Settings) -> str:
    """A freshly migrated test database (TEST_DATABASE_URL overrides the embedded one)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        drop_database(settings, TEST_DATABASE)
        url = ensure_database(settings, TEST_DATABASE)
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(database_url)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_session_factory(engine)


async def truncate_all(engine: AsyncEngine) -> None:
    """Empty every table, so each test starts from the migrated, empty schema."""
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def session(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[AsyncSession]:
    async with session_factory() as s:
        yield s
    await truncate_all(engine)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return get_embedder()
