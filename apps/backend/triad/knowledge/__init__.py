"""The tenant's knowledge: markdown chunked by heading, embedded offline, stored in pgvector
and searched by vector and full text together."""

from triad.knowledge.chunking import Chunk, chunk_markdown, markdown_title, validate_options
from triad.knowledge.embedding import (
    EMBEDDING_DIMENSION,
    Embedder,
    TextEmbedder,
    get_embedder,
    packaged_model_path,
)
from triad.knowledge.ingest import (
    IngestEvent,
    IngestReport,
    current_knowledge_version,
    ingest_path,
)
from triad.knowledge.retrieval import Passage, retrieve, to_context_passages

__all__ = [
    "EMBEDDING_DIMENSION",
    "Chunk",
    "Embedder",
    "IngestEvent",
    "IngestReport",
    "Passage",
    "TextEmbedder",
    "chunk_markdown",
    "current_knowledge_version",
    "get_embedder",
    "ingest_path",
    "markdown_title",
    "packaged_model_path",
    "retrieve",
    "to_context_passages",
    "validate_options",
]
