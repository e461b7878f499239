"""Alembic is the only schema source: it must go all the way down and back up again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from triad.db import migrate
from triad.db.embedded import drop_database, ensure_database
from triad.db.models import Base
from triad.settings import Settings

EXPECTED = {
    "knowledge_documents",
    "knowledge_chunks",
    "knowledge_versions",
    "conversations",
    "messages",
    "candidates",
    "critic_evaluations",
    "training_signals",
    "escalations",
    "lessons",
    "provider_calls",
    "feature_flags",
    "users",
}


@pytest.fixture
def scratch_url(settings: Settings) -> Iterator[str]:
    drop_database(settings, "triad_test_migrations")
    yield ensure_database(settings, "triad_test_migrations")
    drop_database(settings, "triad_test_migrations")


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(scratch_url: str) -> None:
    migrate.upgrade(scratch_url)
    assert _tables(scratch_url) >= EXPECTED
    migrate.downgrade(scratch_url, "base")
    assert _tables(scratch_url) == set()
    migrate.upgrade(scratch_url)
    assert _tables(scratch_url) >= EXPECTED


def test_models_match_migrations(scratch_url: str) -> None:
    """After `upgrade head`, Alembic finds nothing in the models that the migrations lack."""
    migrate.upgrade(scratch_url)
    assert _tables(scratch_url) == {t.name for t in Base.metadata.sorted_tables}
    command.check(migrate.alembic_config(scratch_url))  # raises on any drift


def test_chunk_indexes_exist(scratch_url: str) -> None:
    migrate.upgrade(scratch_url)
    engine = create_engine(scratch_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE tablename = 'knowledge_chunks'")
            ).scalars()
            defs = " ".join(rows)
            generated = conn.execute(
                text(
                    "SELECT is_generated FROM information_schema.columns "
                    "WHERE table_name = 'knowledge_chunks' AND column_name = 'tsv'"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    assert "USING hnsw (embedding vector_cosine_ops)" in defs
    assert "USING gin (tsv)" in defs
    assert generated == "ALWAYS"
