"""Ingest is idempotent, replaces only what changed, and never leaves half a knowledge base."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from triad.db.models import KnowledgeChunk, KnowledgeDocument, KnowledgeVersion
from triad.errors import ConfigurationError, InputError, InvalidConfigError
from triad.knowledge.chunking import chunk_markdown
from triad.knowledge.embedding import Embedder, Vectors
from triad.knowledge.ingest import IngestEvent, IngestReport, current_knowledge_version, ingest_path

SOURCES = ["booking.md", "menu.md", "pricing.md", "service_area.md"]


async def _ingest(
    session: AsyncSession, path: Path, embedder: Any, tenant: str = "demo", **options: Any
) -> IngestReport:
    return await ingest_path(
        session,
        path,
        tenant=tenant,
        embedder=embedder,
        chunk_size=options.pop("chunk_size", 900),
        chunk_overlap=options.pop("chunk_overlap", 120),
        **options,
    )


async def _snapshot(session: AsyncSession) -> dict[str, Any]:
    """Every row's identity and transaction id (xmin changes on any update)."""
    docs = await session.execute(
        text("SELECT source, id, updated_at, xmin::text FROM knowledge_documents ORDER BY source")
    )
    chunks = await session.execute(
        text(
            "SELECT c.id, d.source, c.xmin::text FROM knowledge_chunks c "
            "JOIN knowledge_documents d ON d.id = c.document_id ORDER BY c.id"
        )
    )
    versions = await session.execute(text("SELECT version FROM knowledge_versions ORDER BY 1"))
    return {
        "documents": [tuple(r) for r in docs],
        "chunks": [tuple(r) for r in chunks],
        "versions": list(versions.scalars()),
    }


async def _counts(session: AsyncSession) -> tuple[int, int, int]:
    documents = await session.scalar(select(func.count()).select_from(KnowledgeDocument))
    chunks = await session.scalar(select(func.count()).select_from(KnowledgeChunk))
    versions = await session.scalar(select(func.count()).select_from(KnowledgeVersion))
    return documents or 0, chunks or 0, versions or 0


@contextmanager
def _statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement sent while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.lstrip().split(None, 1)[0].upper())

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_first_ingest_writes_documents_chunks_and_version_1(
    session: AsyncSession, kb: Path, embedder: Embedder
) -> None:
    events: list[IngestEvent] = []
    report = await _ingest(session, kb, embedder, progress=events.append)

    expected_chunks = sum(
        len(chunk_markdown((kb / s).read_text(encoding="utf-8"), source=s)) for s in SOURCES
    )
    assert report.added == SOURCES
    assert report.changed == report.unchanged == report.removed == []
    assert report.chunks_written == expected_chunks
    assert (report.version, report.version_changed) == (1, True)
    assert [(e.source, e.status) for e in events] == [(s, "added") for s in SOURCES]
    assert await _counts(session) == (4, expected_chunks, 1)
    assert await current_knowledge_version(session, "demo") == 1
    assert await current_knowledge_version(session, "someone-else") == 0

    menu = await session.scalar(
        select(KnowledgeDocument).where(KnowledgeDocument.source == "menu.md")
    )
    assert menu is not None
    assert menu.title == "Ember & Tide Hibachi — Menu"
    assert menu.content_hash == hashlib.sha256((kb / "menu.md").read_bytes()).hexdigest()
    assert menu.size_bytes == (kb / "menu.md").stat().st_size
    wagyu = await session.scalar(
        select(KnowledgeChunk).where(KnowledgeChunk.content.contains("wagyu"))
    )
    assert wagyu is not None
    assert wagyu.heading_path == "Ember & Tide Hibachi — Menu > Not on the menu"
    assert wagyu.meta["source"] == "menu.md"
    assert len(wagyu.embedding) == 384
    version = await session.scalar(select(KnowledgeVersion))
    assert version is not None
    assert (version.version, version.added, version.changed, version.removed) == (1, 4, 0, 0)


async def test_reingesting_unchanged_files_writes_nothing(
    session: AsyncSession, engine: AsyncEngine, kb: Path, embedder: Embedder
) -> None:
    await _ingest(session, kb, embedder)
    before = await _snapshot(session)
    await session.commit()

    with _statements(engine) as statements:
        report = await _ingest(session, kb, embedder)

    assert report.unchanged == SOURCES
    assert report.added == report.changed == report.removed == []
    assert (report.chunks_written, report.version, report.version_changed) == (0, 1, False)
    assert "SELECT" in statements
    assert not {"INSERT", "UPDATE", "DELETE"} & set(statements)
    assert await _snapshot(session) == before


async def test_a_changed_file_replaces_only_its_chunks_and_bumps_the_version(
    session: AsyncSession, kb: Path, embedder: Embedder
) -> None:
    await _ingest(session, kb, embedder)
    before = await _snapshot(session)
    await session.commit()
    menu = kb / "menu.md"
    menu.write_text(
        menu.read_text(encoding="utf-8") + "\n## Kids menu\nChicken nuggets for guests under 12.\n",
        encoding="utf-8",
    )

    report = await _ingest(session, kb, embedder)

    assert report.changed == ["menu.md"]
    assert report.unchanged == ["booking.md", "pricing.md", "service_area.md"]
    assert (report.version, report.version_changed) == (2, True)
    after = await _snapshot(session)
    old_menu = {c[0] for c in before["chunks"] if c[1] == "menu.md"}
    new_menu = {c[0] for c in after["chunks"] if c[1] == "menu.md"}
    assert not old_menu & new_menu
    assert len(new_menu) == len(old_menu) + 1 == report.chunks_written
    assert [c for c in after["chunks"] if c[1] != "menu.md"] == [
        c for c in before["chunks"] if c[1] != "menu.md"
    ]
    changed_docs = [
        a for a, b in zip(after["documents"], before["documents"], strict=True) if a != b
    ]
    assert [d[0] for d in changed_docs] == ["menu.md"]
    assert changed_docs[0][2] > before["documents"][1][2]
    assert after["versions"] == [1, 2]
    kids = await session.scalar(
        select(KnowledgeChunk.heading_path).where(KnowledgeChunk.content.contains("nuggets"))
    )
    assert kids == "Ember & Tide Hibachi — Menu > Kids menu"


async def test_a_deleted_file_loses_its_document_and_chunks(
    session: AsyncSession, kb: Path, embedder: Embedder
) -> None:
    first = await _ingest(session, kb, embedder)
    service_area = (kb / "service_area.md").read_text(encoding="utf-8")
    service_chunks = len(chunk_markdown(service_area, source="service_area.md"))
    (kb / "service_area.md").unlink()
    events: list[IngestEvent] = []

    report = await _ingest(session, kb, embedder, progress=events.append)

    assert report.removed == ["service_area.md"]
    assert (report.version, report.version_changed) == (2, True)
    assert ("service_area.md", "removed") in [(e.source, e.status) for e in events]
    sources = set((await session.scalars(select(KnowledgeDocument.source))).all())
    assert sources == {"booking.md", "menu.md", "pricing.md"}
    orphans = await session.scalar(
        select(func.count())
        .select_from(KnowledgeChunk)
        .where(KnowledgeChunk.content.contains("Stockton"))
    )
    assert orphans == 0
    assert (await _counts(session))[1] == first.chunks_written - service_chunks


async def test_a_single_file_is_ingested_without_removing_the_others(
    session: AsyncSession, kb: Path, tmp_path: Path, embedder: Embedder
) -> None:
    await _ingest(session, kb, embedder)
    extra = tmp_path / "faq.markdown"
    extra.write_text("# FAQ\n\n## Parking\nThe chef needs one parking spot.\n", encoding="utf-8")

    report = await _ingest(session, extra, embedder)

    assert (report.added, report.removed, report.version) == (["faq.markdown"], [], 2)
    assert (await _counts(session))[0] == 5


async def test_tenants_are_kept_apart(session: AsyncSession, kb: Path, embedder: Embedder) -> None:
    await _ingest(session, kb, embedder, tenant="demo")
    (kb / "menu.md").unlink()
    other = await _ingest(session, kb, embedder, tenant="other")
    assert (other.added, other.version) == (["booking.md", "pricing.md", "service_area.md"], 1)
    assert await current_knowledge_version(session, "demo") == 1
    demo_docs = await session.scalar(
        select(func.count())
        .select_from(KnowledgeDocument)
        .where(KnowledgeDocument.tenant == "demo")
    )
    assert demo_docs == 4


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing", None, "does not exist"),
        ("notes.txt", b"# Not markdown by name\n", "is not a markdown file"),
        ("latin1.md", "# Caf\xe9\n".encode("latin-1"), "is not UTF-8"),
        ("empty-folder", b"", "no markdown files"),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_written(
    session: AsyncSession,
    tmp_path: Path,
    embedder: Embedder,
    name: str,
    content: bytes | None,
    message: str,
) -> None:
    path = tmp_path / name
    if name == "empty-folder":
        path.mkdir()
        (path / "readme.txt").write_bytes(b"not markdown")
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        await _ingest(session, path, embedder)
    assert await _counts(session) == (0, 0, 0)


async def test_bad_chunk_options_are_refused_before_anything_is_read(
    session: AsyncSession, kb: Path, embedder: Embedder
) -> None:
    with pytest.raises(InvalidConfigError, match="smaller than chunk_size"):
        await _ingest(session, kb, embedder, chunk_size=100, chunk_overlap=100)
    assert await _counts(session) == (0, 0, 0)


class _FailsOnSecondFile:
    """An embedder that breaks part-way through, to prove the ingest is one transaction."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.calls = 0

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed(self, texts: Sequence[str]) -> Vectors:
        return self.inner.embed(texts)

    async def aembed(self, texts: Sequence[str]) -> Vectors:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("embedding backend crashed")
        return await self.inner.aembed(texts)


class _WrongSize:
    """An embedder for a different model, whose vectors would not fit the column."""

    dimension = 768

    def embed(self, texts: Sequence[str]) -> Vectors:
        raise AssertionError("must not be called")

    async def aembed(self, texts: Sequence[str]) -> Vectors:
        raise AssertionError("must not be called")


async def test_an_embedder_of_the_wrong_dimension_is_refused(
    session: AsyncSession, kb: Path
) -> None:
    with pytest.raises(ConfigurationError, match="768-dimension"):
        await _ingest(session, kb, _WrongSize())
    assert await _counts(session) == (0, 0, 0)


async def test_a_failure_midway_leaves_nothing_half_written(
    session: AsyncSession, kb: Path, embedder: Embedder
) -> None:
    await _ingest(session, kb, embedder)
    before = await _snapshot(session)
    await session.commit()
    for name in ("booking.md", "menu.md"):
        (kb / name).write_text((kb / name).read_text(encoding="utf-8") + "\nMore.\n", "utf-8")
    (kb / "pricing.md").unlink()

    with pytest.raises(RuntimeError, match="crashed"):
        await _ingest(session, kb, _FailsOnSecondFile(embedder))

    assert await _snapshot(session) == before
    assert await current_knowledge_version(session, "demo") == 1
