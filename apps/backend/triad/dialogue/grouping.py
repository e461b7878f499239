"""Group similar cases so that one lesson covers one pattern of mistakes.

Average-linkage agglomerative clustering on cosine similarity, merging while the closest two
clusters are at least `threshold` alike: simple, deterministic for a given input order (ties
merge the earliest pair), and needs no number of groups in advance. Cases of
different agents never share a group (their lessons go into different prompts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from triad.dialogue.cases import Case


@dataclass(frozen=True)
class CaseGroup:
    """Cases of one agent about the same mistake; `representative` is the most central."""

    agent: str
    cases: list[Case]
    representative: Case

    @property
    def signal_ids(self) -> list[int]:
        return sorted({c.signal_id for c in self.cases})


def _clusters(vectors: NDArray[np.float32], threshold: float) -> list[list[int]]:
    """Indices grouped by average linkage (Lance-Williams updates); in order of first member."""
    n = len(vectors)
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    similarity = (vectors @ vectors.T).astype(np.float64)
    np.fill_diagonal(similarity, -np.inf)
    while len(members) > 1:
        flat = int(np.argmax(similarity))
        i, j = divmod(flat, n)
        if similarity[i, j] < threshold:
            break
        keep, gone = min(i, j), max(i, j)
        size_k, size_g = len(members[keep]), len(members[gone])
        merged = (size_k * similarity[keep] + size_g * similarity[gone]) / (size_k + size_g)
        similarity[keep, :] = merged
        similarity[:, keep] = merged
        similarity[keep, keep] = -np.inf
        similarity[gone, :] = -np.inf
        similarity[:, gone] = -np.inf
        members[keep].extend(members.pop(gone))
    return sorted((sorted(m) for m in members.values()), key=lambda m: m[0])


def _medoid(vectors: NDArray[np.float32], members: Sequence[int]) -> int:
    """The member with the highest summed similarity to the others; ties: the earliest."""
    block = vectors[list(members)]
    totals = (block @ block.T).sum(axis=1)
    return members[int(np.argmax(totals))]


def group_cases(
    cases: Sequence[Case], vectors: NDArray[np.float32], *, threshold: float
) -> list[CaseGroup]:
    """Groups of `cases` (whose normalised embeddings are the rows of `vectors`)."""
    by_agent: dict[str, list[int]] = {}
    for index, case in enumerate(cases):
        by_agent.setdefault(case.agent, []).append(index)
    groups: list[CaseGroup] = []
    for agent in sorted(by_agent):
        indices = by_agent[agent]
        local = vectors[indices]
        for members in _clusters(local, threshold):
            absolute = [indices[m] for m in members]
            centre = _medoid(vectors, absolute)
            groups.append(
                CaseGroup(
                    agent=agent,
                    cases=[cases[i] for i in absolute],
                    representative=cases[centre],
                )
            )
    return groups
