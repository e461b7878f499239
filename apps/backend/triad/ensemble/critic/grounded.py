"""GroundedCritic: checks every claim of every answer against the evidence, no LLM involved.

It picks the cleanest answer and scores how far the ensemble can be trusted (consensus), so
the ensemble can send, escalate or hold. Synchronous and a few milliseconds without
embeddings; the async wrapper runs it in a worker thread when an embedder is attached.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from triad.ensemble.critic.analysis import ClaimAnalysis, analyse_claim
from triad.ensemble.critic.answer import addresses, repeats
from triad.ensemble.critic.checks import Semantic, check_claim
from triad.ensemble.critic.claims import split_claims
from triad.ensemble.critic.consensus import agreement, pick_winner, rationale
from triad.ensemble.critic.facts import extract_facts
from triad.ensemble.critic.index import EvidenceIndex, texts_of
from triad.ensemble.critic.models import (
    AnswerVerdict,
    ClaimVerdict,
    CriticConfig,
    CriticResult,
)
from triad.ensemble.critic.numbers import FactContext, FactVerdict, check_facts
from triad.ensemble.critic.semantic import EmbeddingCache, EmbedFn, max_similarity
from triad.ensemble.critic.verifier import (
    VerifyFn,
    load_verifier,
    second_opinion,
    ties_values,
    wording_only,
)

_INDEX_CACHE_SIZE = 64
_CONSEQUENCE_RE = re.compile(
    r"[\s,;]*(?:so|therefore|thus|which\s+means(?:\s+that)?|meaning(?:\s+that)?)[\s,]*",
    re.IGNORECASE,
)
SEMANTIC_CANDIDATES = 6


def _nearest(a: ClaimAnalysis, index: EvidenceIndex, k: int) -> list[int]:
    """The `k` evidence sentences sharing the most words with the claim."""
    words = a.stems | a.entity_stems
    scored = [
        (len(words & (index.sentences[i].stems | index.sentences[i].context)), i)
        for i in index.containing(words)
    ]
    return [i for _, i in sorted(scored, key=lambda x: (-x[0], x[1]))[:k]]


def _premise(a: ClaimAnalysis, before: list[tuple[ClaimVerdict, bool]]) -> bool:
    """The claim draws a consequence from the claim just before it, which the evidence
    supports."""
    return a.consequence and bool(before) and before[-1][0].status == "supported"


def _claim_score(v: ClaimVerdict) -> float:
    if v.status == "contradicted":
        return 0.0
    if v.status == "unsupported":
        return 0.25 * v.support
    return 0.55 + 0.45 * v.support


def _answer_verdict(
    claims: list[ClaimVerdict],
    analyses: list[ClaimAnalysis],
    index: EvidenceIndex,
    meaning: float | None = None,
) -> AnswerVerdict:
    if claims and not any(c.material for c in claims):
        claims = [
            c.model_copy(update={"material": True}) if a.refuses or a.affirms else c
            for c, a in zip(claims, analyses, strict=True)
        ]
    checked = [c for c in claims if c.status != "unverifiable"]
    if checked:
        score = round(sum(_claim_score(c) for c in checked) / len(checked), 4)
    else:
        score = 0.5 if claims else 0.0
    return AnswerVerdict(
        score=score,
        claims=claims,
        unsupported_claims=[c for c in claims if c.failed],
        addresses=addresses(analyses, claims, index, meaning),
        abstains=any(a.abstains for a in analyses),
        repeated=repeats(analyses, claims),
    )


class GroundedCritic:
    """Grounded claim checks, a winner and a consensus score for a set of answers."""

    def __init__(
        self,
        embed: EmbedFn | None = None,
        config: CriticConfig | None = None,
        verify: VerifyFn | None = None,
    ) -> None:
        """`verify`: the learned verifier to consult; by default the packaged one, loaded on
        first need, when `config.verifier` is on."""
        self.config = config or CriticConfig()
        self._verify = verify
        self._cache = EmbeddingCache(embed, self.config.cache_size) if embed else None
        self._indexes: OrderedDict[tuple[str, tuple[str, ...], tuple[str, ...]], EvidenceIndex]
        self._indexes = OrderedDict()
        self._lock = threading.Lock()

    def _verifier(self) -> VerifyFn | None:
        """The injected verifier, else the packaged one when the config turns it on."""
        if self._verify is None and self.config.verifier:
            self._verify = load_verifier()
        return self._verify

    def _index(self, question: str, evidence: Sequence[str], facts: Sequence[str]) -> EvidenceIndex:
        key = (question, tuple(texts_of(evidence)), tuple(texts_of(facts)))
        with self._lock:
            hit = self._indexes.get(key)
        if hit is None:
            hit = EvidenceIndex.build(question, key[1], key[2])
            with self._lock:
                self._indexes[key] = hit
                if len(self._indexes) > _INDEX_CACHE_SIZE:
                    self._indexes.popitem(last=False)
        return hit

    def _analyse(
        self, answer: str, index: EvidenceIndex
    ) -> list[tuple[ClaimAnalysis, list[FactContext]]]:
        out = []
        facts = extract_facts(answer)
        question = index.question_stems
        previous: frozenset[str] = frozenset()
        previous_names: frozenset[str] = frozenset()
        last_end = -1
        for span in split_claims(answer):
            mine = [f for f in facts if span.start <= f.start < span.end]
            a = analyse_claim(span, mine)
            a.consequence = last_end >= 0 and bool(
                _CONSEQUENCE_RE.fullmatch(answer[last_end : span.start])
            )
            last_end = span.end
            words = frozenset(a.stems)
            names = frozenset(a.entity_stems)
            contexts = []
            for f in mine:
                before = [t for t in a.content if t.end <= f.start][-5:]
                after = [t for t in a.content if t.start >= f.end][:5]
                window = frozenset(t.stem for t in before + after)
                siblings = tuple(g for g in mine if g is not f)
                contexts.append(
                    FactContext(
                        f, window, words, names | previous_names, previous | question, siblings,
                        tuple(index.question_facts),
                    )
                )  # fmt: skip
            out.append((a, contexts))
            previous, previous_names = words, names or previous_names
        return out

    def _semantics(
        self, index: EvidenceIndex, claims: list[ClaimAnalysis], answers: list[str]
    ) -> tuple[list[Semantic], list[NDArray[np.float32]]]:
        """Best evidence cosine per claim and the answers' vectors, in one model call.

        Outside "always" mode only the evidence sentences sharing the most words with the
        claims are embedded: a near-verbatim paraphrase always shares words, and a turn's new
        passages then cost a few sentences instead of the whole knowledge base."""
        assert self._cache is not None
        if self.config.semantic_mode == "always":
            chosen = list(range(len(index.sentences)))
        else:
            chosen = sorted({i for a in claims for i in _nearest(a, index, SEMANTIC_CANDIDATES)})
        evidence = [index.sentences[i].text for i in chosen]
        texts = [a.span.text for a in claims]
        vectors = self._cache.vectors([*evidence, *texts, *answers])
        ev = vectors[: len(evidence)]
        cl = vectors[len(evidence) : len(evidence) + len(texts)]
        sims, best = max_similarity(cl, ev)
        semantic = [
            Semantic(float(sims[k]), evidence[int(best[k])] if evidence else "")
            for k in range(len(claims))
        ]
        return semantic, list(vectors[len(evidence) + len(texts) :])

    def evaluate(
        self,
        question: str,
        answers: dict[str, str],
        evidence: Sequence[str],
        facts: Sequence[str] = (),
    ) -> CriticResult:
        """Check every answer; pick the cleanest; score agreement and consensus."""
        started = time.perf_counter()
        answers = {role: text for role, text in answers.items() if text and text.strip()}
        index = self._index(question, evidence, facts)
        claims: dict[str, list[tuple[ClaimAnalysis, list[FactVerdict]]]] = {}
        outcomes: dict[str, list[tuple[ClaimVerdict, bool]]] = {}
        for role, text in answers.items():
            analysed = self._analyse(text, index)
            found = iter(check_facts([c for _, cs in analysed for c in cs], index))
            claims[role] = [(a, [next(found) for _ in cs]) for a, cs in analysed]
            outcomes[role] = []
            for i, (a, fv) in enumerate(claims[role]):
                premise = _premise(a, outcomes[role])
                outcomes[role].append(
                    check_claim(a, fv, index, None, self.config, first=i == 0, premise=premise)
                )
        vectors: dict[str, NDArray[np.float32]] = {}
        meaning: dict[str, float] = {}
        always = self.config.semantic_mode == "always"
        todo = [(r, i) for r, out in outcomes.items() for i, (_, helps) in enumerate(out)
                if always or helps]  # fmt: skip
        if self._cache is not None and todo:
            roles = list(answers) if always else []
            asked = [question] if always and question.strip() else []
            semantic, whole = self._semantics(
                index, [claims[r][i][0] for r, i in todo], [*(answers[r] for r in roles), *asked]
            )
            vectors = dict(zip(roles, whole, strict=False))
            if asked:
                meaning = {r: float(vectors[r] @ whole[-1]) for r in roles}
            for (r, i), sem in zip(todo, semantic, strict=True):
                a, fv = claims[r][i]
                premise = _premise(a, outcomes[r][:i])
                outcomes[r][i] = check_claim(
                    a, fv, index, sem, self.config, first=i == 0, premise=premise
                )
        veto = self.config.verifier_veto > 0
        todo = [(r, i) for r, out in outcomes.items() for i, (v, _) in enumerate(out)
                if wording_only(v) or (veto and ties_values(
                    v, len(claims[r][i][0].facts), len(claims[r][i][0].entities)))]  # fmt: skip
        verify = self._verifier() if todo else None
        if verify is not None:
            k = self.config.verifier_candidates
            doubts = [(outcomes[r][i][0], [index.sentences[j].text for j in
                      _nearest(claims[r][i][0], index, k)]) for r, i in todo]  # fmt: skip
            for (r, i), v in zip(todo, second_opinion(verify, doubts, self.config), strict=True):
                outcomes[r][i] = (v, False)
        verdicts = {
            role: _answer_verdict(
                [v for v, _ in out], [a for a, _ in claims[role]], index, meaning.get(role)
            )
            for role, out in outcomes.items()
        }
        winner = pick_winner(verdicts)
        agree, consensus = agreement(answers, verdicts, vectors, self.config)
        return CriticResult(
            verdicts=verdicts,
            winner=winner,
            consensus=consensus,
            agreement=agree,
            rationale=rationale(verdicts, winner, agree),
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    async def aevaluate(
        self,
        question: str,
        answers: dict[str, str],
        evidence: Sequence[str],
        facts: Sequence[str] = (),
    ) -> CriticResult:
        """`evaluate` off the event loop when embeddings make it slow enough to matter."""
        if self._cache is None:
            return self.evaluate(question, answers, evidence, facts)
        return await asyncio.to_thread(self.evaluate, question, answers, evidence, facts)
