"""Idempotent ingest of a tenant's markdown knowledge base into pgvector + full-text chunks.

A file is identified by its path relative to the ingested folder and fingerprinted by the
sha256 of its bytes: unchanged files cost no writes, changed files get all their chunks
replaced, files gone from the folder are deleted, and the tenant's knowledge version goes up
by one exactly when something changed. Everything happens in the caller's session, in one
transaction, under an advisory lock per tenant so two ingests cannot race for a version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from triad.db.models import EMBEDDING_DIM, KnowledgeChunk, KnowledgeDocument, KnowledgeVersion
from triad.errors import ConfigurationError, InputError
from triad.knowledge.chunking import Chunk, chunk_markdown, markdown_title, validate_options
from triad.knowledge.embedding import TextEmbedder, Vectors
from triad.settings import Settings

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})

FileStatus = Literal["added", "changed", "unchanged", "removed"]


@dataclass(frozen=True, slots=True)
class IngestEvent:
    """Reported to the `progress` callback as each file is classified (before the commit)."""

    source: str
    status: FileStatus
    chunks: int = 0


ProgressCallback = Callable[[IngestEvent], None]


class IngestReport(BaseModel):
    """What one ingest did, by source name."""

    tenant: str
    added: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    chunks_written: int = 0
    version: int
    version_changed: bool


@dataclass(frozen=True, slots=True)
class _SourceFile:
    source: str
    text: str
    sha256: str
    size_bytes: int


async def current_knowledge_version(session: AsyncSession, tenant: str) -> int:
    """The tenant's knowledge version: its highest version row, 0 before the first ingest."""
    stmt = select(func.coalesce(func.max(KnowledgeVersion.version), 0)).where(
        KnowledgeVersion.tenant == tenant
    )
    return int((await session.execute(stmt)).scalar_one())


async def ingest_path(
    session: AsyncSession,
    path: Path,
    *,
    tenant: str,
    embedder: TextEmbedder,
    chunk_size: int,
    chunk_overlap: int,
    progress: ProgressCallback | None = None,
    replace: bool | None = None,
) -> IngestReport:
    """Bring the tenant's stored knowledge in line with `path` (a markdown file or a folder of
    them, searched recursively) and commit; on any error roll back so nothing is half-written.

    `replace=True` makes `path` the tenant's whole knowledge base (documents not in it are
    removed); `replace=False` adds and updates only. The default replaces for a folder and adds
    for a single file.
    """
    if not tenant.strip():
        raise InputError("tenant must not be empty")
    validate_options(chunk_size, chunk_overlap)
    if embedder.dimension != EMBEDDING_DIM:
        raise ConfigurationError(
            f"the embedder makes {embedder.dimension}-dimension vectors; "
            f"knowledge_chunks.embedding holds {EMBEDDING_DIM}"
        )
    files, is_folder = _read_sources(Path(path))
    removes = is_folder if replace is None else replace
    report = IngestReport(tenant=tenant, version=0, version_changed=False)
    notify = progress or (lambda _event: None)
    try:
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"triad.knowledge:{tenant}"},
        )
        rows = await session.execute(
            select(
                KnowledgeDocument.source, KnowledgeDocument.id, KnowledgeDocument.content_hash
            ).where(KnowledgeDocument.tenant == tenant)
        )
        stored = {source: (doc_id, digest) for source, doc_id, digest in rows}
        version = await current_knowledge_version(session, tenant)

        for file in files:
            known = stored.get(file.source)
            if known is not None and known[1] == file.sha256:
                report.unchanged.append(file.source)
                notify(IngestEvent(file.source, "unchanged"))
                continue
            chunks = chunk_markdown(
                file.text, source=file.source, chunk_size=chunk_size, chunk_overlap=chunk_overlap
            )
            vectors = await embedder.aembed([c.embedding_text for c in chunks])
            doc_id = await _upsert_document(session, tenant, file, known[0] if known else None)
            await _write_chunks(session, tenant, doc_id, chunks, vectors)
            report.chunks_written += len(chunks)
            status: FileStatus = "changed" if known else "added"
            (report.changed if known else report.added).append(file.source)
            notify(IngestEvent(file.source, status, len(chunks)))

        if removes:
            present = {f.source for f in files}
            gone = sorted(source for source in stored if source not in present)
            if gone:
                await session.execute(
                    delete(KnowledgeDocument).where(
                        KnowledgeDocument.tenant == tenant, KnowledgeDocument.source.in_(gone)
                    )
                )
            for source in gone:
                report.removed.append(source)
                notify(IngestEvent(source, "removed"))

        if report.added or report.changed or report.removed:
            version += 1
            session.add(
                KnowledgeVersion(
                    tenant=tenant,
                    version=version,
                    added=len(report.added),
                    changed=len(report.changed),
                    removed=len(report.removed),
                )
            )
            report.version_changed = True
        report.version = version
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return report


def _read_sources(path: Path) -> tuple[list[_SourceFile], bool]:
    """Every markdown file under `path` with its hash, read before anything is written."""
    if not path.exists():
        raise InputError(f"knowledge path does not exist: {path}")
    if path.is_file():
        if path.suffix.lower() not in MARKDOWN_SUFFIXES:
            raise InputError(
                f"{path.name} is not a markdown file (expected one of: "
                f"{', '.join(sorted(MARKDOWN_SUFFIXES))})"
            )
        return [_read_file(path, path.name)], False
    if not path.is_dir():
        raise InputError(f"knowledge path is neither a file nor a folder: {path}")
    found = sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and p.suffix.lower() in MARKDOWN_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )
    if not found:
        raise InputError(
            f"no markdown files (.md, .markdown) under {path}; refusing to treat that as "
            "'delete the whole knowledge base'"
        )
    return [_read_file(p, p.relative_to(path).as_posix()) for p in found], True


def _read_file(path: Path, source: str) -> _SourceFile:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {source}: {exc.strerror or exc}") from exc
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source} is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return _SourceFile(source, content, hashlib.sha256(data).hexdigest(), len(data))


async def _upsert_document(
    session: AsyncSession, tenant: str, file: _SourceFile, doc_id: int | None
) -> int:
    """Insert the document row, or update it and drop its old chunks; returns its id."""
    values: dict[str, Any] = {
        "title": markdown_title(file.text),
        "content_hash": file.sha256,
        "size_bytes": file.size_bytes,
    }
    if doc_id is None:
        stmt = (
            insert(KnowledgeDocument)
            .values(tenant=tenant, source=file.source, **values)
            .returning(KnowledgeDocument.id)
        )
        return int((await session.execute(stmt)).scalar_one())
    await session.execute(delete(KnowledgeChunk).where(KnowledgeChunk.document_id == doc_id))
    await session.execute(
        update(KnowledgeDocument)
        .where(KnowledgeDocument.id == doc_id)
        .values(updated_at=func.now(), **values)
    )
    return doc_id


async def _write_chunks(
    session: AsyncSession, tenant: str, doc_id: int, chunks: list[Chunk], vectors: Vectors
) -> None:
    if not chunks:
        return
    await session.execute(
        insert(KnowledgeChunk),
        [
            {
                "document_id": doc_id,
                "tenant": tenant,
                "ordinal": chunk.ordinal,
                "heading_path": chunk.heading_path,
                "content": chunk.content,
                "char_start": chunk.char_start,
                "char_end": chunk.char_end,
                "embedding": vector,
                "meta": chunk.metadata,
            }
            for chunk, vector in zip(chunks, vectors, strict=True)
        ],
    )


async def ingest_with_settings(
    session: AsyncSession,
    settings: Settings,
    embedder: TextEmbedder,
    *,
    path: Path | None = None,
    tenant: str | None = None,
    progress: ProgressCallback | None = None,
    replace: bool | None = None,
) -> IngestReport:
    """Ingest with the deployment's chunking, by default the configured tenant's own folder."""
    return await ingest_path(
        session,
        path or settings.knowledge_dir,
        tenant=tenant or settings.tenant,
        embedder=embedder,
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        progress=progress,
        replace=replace,
    )
