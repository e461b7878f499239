"""An answer composed only of sentences from the retrieved passages: no LLM, nothing invented.

It is the offline teacher and the last link of a fallback chain: it cannot hallucinate, so the
worst it can do is return a less relevant sentence or say honestly that it does not know.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from triad.providers.base import Completion, CompletionRequest, ContextPassage, Provider

EmbedFn = Callable[[Sequence[str]], npt.NDArray[Any]]
"""Texts in, one L2-normalised row per text out (e.g. a sentence-transformers model)."""

NO_INFORMATION = "I don't have that information in the knowledge base."

_STOPWORD_TEXT = """
a about above after again all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each either few for from
further had has have having he her here hers him his how i if in into is it its itself just
me might more most my no nor not of off on once only or other our ours out over own please
same she should so some such than that the their theirs them then there these they this
those through to too under until up very was we were what when where which while who whom
why will with would you your yours tell know want need get
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9$\"'(])")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_HEADING = re.compile(r"^\s*#{1,6}\s+(.*)$")


def stem(word: str) -> str:
    """A light, deterministic stemmer: plural and -ing/-ed endings, then a final 'e'."""
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def terms(text: str) -> set[str]:
    """Lower-cased, stemmed content words of a text (stopwords removed)."""
    words = _WORD.findall(text.lower().replace("\u2019", "'"))
    return {stem(w.split("'")[0]) for w in words if w.split("'")[0] not in _STOPWORDS}


@dataclass(frozen=True)
class _Sentence:
    text: str
    heading: str
    passage: int
    position: int
    list_id: int | None = None
    """Fragment items of one markdown list ("- Shrimp") share an id, so a chosen item brings
    its list along; items that are whole sentences stand alone."""


def split_sentences(passages: Sequence[ContextPassage]) -> list[_Sentence]:
    """Sentences and list items of every passage, each with the heading it sits under."""
    found: list[_Sentence] = []
    seen: set[str] = set()
    lists = 0
    for p_index, passage in enumerate(passages):
        heading = passage.heading_path
        in_list = False
        for line in passage.text.splitlines():
            match = _HEADING.match(line)
            if match:
                heading = f"{passage.heading_path} {match.group(1)}".strip()
                in_list = False
                continue
            item = bool(_LIST_MARKER.match(line))
            if item and not in_list:
                lists += 1
            in_list = item or (in_list and not line.strip())
            line = _LIST_MARKER.sub("", line).strip().strip("|").strip()
            for piece in _SENTENCE_END.split(line):
                piece = piece.strip()
                key = " ".join(piece.lower().split())
                if len(terms(piece)) == 0 or key in seen:
                    continue
                seen.add(key)
                fragment = item and not piece.endswith((".", "!", "?"))
                list_id = lists if fragment else None
                found.append(_Sentence(piece, heading, p_index, len(found), list_id))
    return found


def compose(chosen: Sequence[_Sentence], every: Sequence[_Sentence]) -> str:
    """Join the chosen sentences; a list item comes with its whole list, after its heading
    ("Standard proteins: Chicken, Shrimp, ..."), so no fragment stands without context."""
    parts: list[str] = []
    done: set[int] = set()
    for sentence in chosen:
        if sentence.list_id is None:
            parts.append(_as_sentence(sentence.text))
            continue
        if sentence.list_id in done:
            continue
        done.add(sentence.list_id)
        items = [s.text.rstrip(".") for s in every if s.list_id == sentence.list_id]
        label = sentence.heading.split(">")[-1].strip()
        listed = ", ".join(items)
        parts.append(f"{label}: {listed}." if label else f"{listed}.")
    return " ".join(parts)


def _as_sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _word_count(text: str) -> int:
    return len(text.split())


class ExtractiveProvider(Provider):
    """Picks the passages' sentences most relevant to the question, best first.

    Relevance is the overlap of stemmed content words between the question and a sentence
    (half for words only in its heading), blended with embedding cosine similarity when
    `embed` is injected.
    """

    kind: ClassVar[str] = "extractive"
    needs_network: ClassVar[bool] = False

    def __init__(
        self,
        *,
        model: str = "passages",
        provider: str = "extractive",
        max_sentences: int = 3,
        embed: EmbedFn | None = None,
        semantic_weight: float = 0.5,
        min_score: float = 0.1,
        relative_floor: float = 0.5,
    ) -> None:
        super().__init__(model=model)
        if max_sentences < 1 or not 0.0 <= semantic_weight <= 1.0:
            raise ValueError("max_sentences must be >= 1 and semantic_weight within 0..1")
        self.provider = provider
        self.max_sentences = max_sentences
        self.semantic_weight = semantic_weight if embed is not None else 0.0
        self.min_score = min_score
        self.relative_floor = relative_floor
        self._embed = embed

    async def complete(self, request: CompletionRequest) -> Completion:
        """Compose the answer; never raises for missing context, it says it does not know."""
        started = time.perf_counter()
        sentences = split_sentences(request.context)
        scores = await self._scores(request.question, sentences)
        floor = max(self.min_score, self.relative_floor * max(scores, default=0.0))
        ranked = sorted(
            (s for s, score in zip(sentences, scores, strict=True) if score > floor),
            key=lambda s: (-scores[s.position], s.passage, s.position),
        )
        chosen = ranked[: self.max_sentences]
        text = compose(chosen, sentences) if chosen else NO_INFORMATION
        read = [m.content for m in request.messages] + [p.text for p in request.context]
        return Completion(
            text=text,
            model=self.model,
            provider=self.provider,
            input_tokens=sum(_word_count(t) for t in read),
            output_tokens=_word_count(text),
            latency_ms=(time.perf_counter() - started) * 1000.0,
            finish_reason="stop",
        )

    async def _scores(self, question: str, sentences: Sequence[_Sentence]) -> list[float]:
        if not sentences:
            return []
        wanted = terms(question)
        lexical = [self._lexical(wanted, s) for s in sentences]
        if self._embed is None or self.semantic_weight == 0.0:
            return lexical
        texts = [question, *(s.text for s in sentences)]
        vectors = np.asarray(await asyncio.to_thread(self._embed, texts), dtype=np.float64)
        cosine = (vectors[1:] @ vectors[0]).tolist()
        weight = self.semantic_weight
        return [weight * c + (1.0 - weight) * lex for c, lex in zip(cosine, lexical, strict=True)]

    @staticmethod
    def _lexical(wanted: set[str], sentence: _Sentence) -> float:
        """Cosine of binary term vectors, so short on-topic sentences beat long ones that
        mention the topic in passing; a word found only in the heading counts half."""
        if not wanted:
            return 0.0
        own, heading = terms(sentence.text), terms(sentence.heading)
        hits = sum(1.0 if t in own else 0.5 if t in heading else 0.0 for t in wanted)
        return hits / math.sqrt(len(wanted) * max(len(own), 1)) if hits else 0.0
