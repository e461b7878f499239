"""Sentence embeddings for semantic support, fetched in one batch per call and cached by text.

The same business-rule sentences are evidence on every turn; re-embedding them would cost
more than the rest of the critic, so every vector is kept (bounded) under its text.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

Vectors = NDArray[np.float32]
EmbedFn = Callable[[Sequence[str]], Vectors]


class EmbeddingCache:
    """Wraps an `embed(texts) -> rows` callable with a bounded text -> vector cache."""

    def __init__(self, embed: EmbedFn, max_size: int = 8192) -> None:
        self._embed = embed
        self._max = max_size
        self._vectors: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()
        self.calls = 0

    def vectors(self, texts: Sequence[str]) -> Vectors:
        """One normalised row per text; only texts not seen before reach the model, in one batch."""
        with self._lock:
            found = {t: self._vectors[t] for t in texts if t in self._vectors}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            rows = np.asarray(self._embed(missing), dtype=np.float32)
            norms = np.linalg.norm(rows, axis=1, keepdims=True)
            found.update(zip(missing, rows / np.maximum(norms, 1e-12), strict=True))
        with self._lock:
            self.calls += bool(missing)
            for t in texts:
                self._vectors[t] = found[t]
                self._vectors.move_to_end(t)
            while len(self._vectors) > self._max:
                self._vectors.popitem(last=False)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([found[t] for t in texts])


def max_similarity(
    claims: Vectors, evidence: Vectors
) -> tuple[NDArray[np.float32], NDArray[np.intp]]:
    """For each claim row: the best cosine against any evidence row and that row's index."""
    if claims.size == 0 or evidence.size == 0:
        n = claims.shape[0] if claims.ndim == 2 else 0
        return np.zeros(n, dtype=np.float32), np.zeros(n, dtype=np.intp)
    sims = claims @ evidence.T
    best = sims.argmax(axis=1)
    return sims[np.arange(sims.shape[0]), best].astype(np.float32), best
