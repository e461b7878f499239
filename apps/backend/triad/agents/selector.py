"""Pick the agent for a customer message: keywords first, embeddings when keywords don't decide.

Keywords come from the tenant's rules file, so the selector knows nothing about any business.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from triad.agents.rules import AgentSpec

EmbedFn = Callable[[Sequence[str]], npt.NDArray[np.float32]]
_MONEY = re.compile(r"\$|\b(price|cost|costs|how much|quote|fee|fees|charge|total)\b", re.I)


@dataclass(frozen=True)
class Selection:
    """The chosen agent and why, so the choice is explainable in logs and records."""

    agent: str
    method: str
    scores: dict[str, float]


class AgentSelector:
    """Keyword classifier with an embedding fallback over each agent's keyword profile."""

    def __init__(self, agents: Mapping[str, AgentSpec], embed: EmbedFn | None = None) -> None:
        if not agents:
            raise ValueError("at least one agent is required")
        self._agents = dict(agents)
        self._embed = embed
        self._patterns = {
            name: [re.compile(rf"\b{re.escape(k.lower())}\b") for k in spec.keywords]
            for name, spec in self._agents.items()
        }
        self._profiles: npt.NDArray[np.float32] | None = None

    @property
    def names(self) -> list[str]:
        return list(self._agents)

    def _keyword_scores(self, text: str) -> dict[str, float]:
        lowered = text.lower()
        scores = {
            name: float(sum(1 for p in patterns if p.search(lowered)))
            for name, patterns in self._patterns.items()
        }
        if "pricing" in scores and _MONEY.search(text):
            scores["pricing"] += 1.5
        return scores

    def _embedding_scores(self, text: str) -> dict[str, float]:
        assert self._embed is not None
        if self._profiles is None:
            profiles = [f"{name}: {', '.join(s.keywords)}" for name, s in self._agents.items()]
            self._profiles = self._embed(profiles)
        query = self._embed([text])[0]
        sims = self._profiles @ query
        return {name: float(sims[i]) for i, name in enumerate(self._agents)}

    def select(self, text: str) -> Selection:
        """The agent whose keywords match best; embeddings break ties and silence."""
        scores = self._keyword_scores(text)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], self.names.index(kv[0])))
        best, best_score = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else -1.0
        if best_score > 0 and best_score > runner_up:
            return Selection(best, "keywords", scores)
        if self._embed is not None:
            sims = self._embedding_scores(text)
            tied = {n for n, s in scores.items() if s == best_score}
            pick = max(sorted(tied, key=self.names.index), key=lambda n: sims[n])
            return Selection(pick, "embedding", sims)
        return Selection(best, "default", scores)
