"""An answer composed only of sentences from the retrieved passages: no LLM, nothing invented.

It is the offline teacher and the last link of a fallback chain: it cannot hallucinate, so the
worst it can do is return a less relevant sentence or say honestly that it does not know.

What it says, in order of preference:

1. nothing but `NO_INFORMATION` when the message asks the assistant to drop its instructions,
   or when no sentence shares a content word with it and none is close in meaning;
2. for a price question, the computed quote (the "Computed for you" passage the ensemble puts
   first) from its first line through its total, minimum and discount lines included;
3. otherwise the one sentence, list item or list that answers best, then only sentences that
   answer a part of the question the ones before did not (at most `max_sentences`).

Every sentence is a passage's sentence or a computed fact verbatim, or a markdown list
recomposed as "Heading: item, item.", so the critic can check each one.
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

from triad.lexicon import CANONICAL
from triad.providers.base import Completion, CompletionRequest, ContextPassage, Provider

EmbedFn = Callable[[Sequence[str]], npt.NDArray[Any]]
"""Texts in, one L2-normalised row per text out (e.g. a sentence-transformers model)."""

NO_INFORMATION = "I don't have that information in the knowledge base."
COMPUTED_HEADING = "Computed for you"
"""The heading of the passage of deterministic tool facts (quote lines, booking checks)."""

_STOPWORD_TEXT = """
a about above after again all also am an and any anything are as at be because been before
being below between both but by can could did do does doing down during each either few for
from further had has have having he her here hers him his how i if in into is it its itself
just me might more most my no nor not of off on once only or other our ours out over own
please same she should so some something such than that the their theirs them then there
these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours tell know want need get much many ok okay
hi hello thanks thank let us
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    )
}
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_AMOUNT = re.compile(r"\d[\d,]*(?:\.\d+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9$\"'(])")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_HEADING = re.compile(r"^\s*#{1,6}\s+(.*)$")

_OVERRIDE = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b[^.?!]{0,40}\b(?:rules?|instructions?|"
    r"prompts?|polic(?:y|ies)|guidelines?|above|previous)\b|\bsystem\s+prompt\b|"
    r"\b(?:your|the)\s+(?:instructions|prompt)\b|\bjailbreak\b|\bpretend\s+(?:to|that|you)\b|"
    r"\byou\s+are\s+now\b|\bact\s+as\b",
    re.I,
)
"""Messages that ask the assistant to step outside its instructions: no fact answers them."""
_PRICE = re.compile(
    r"\bhow\s+much\b|\b(?:price|prices|pricing|cost|costs|charge|charges|fee|fees|quote|quotes|"
    r"total|pay|paying|bill|estimate|expensive|cheap)\b",
    re.I,
)
"""A question about money: answered by the computed quote when there is one."""
_COSTS = re.compile(
    r"\bhow\s+much\b|\b(?:price|prices|pricing|cost|costs|charge|charges|fee|fees|rate|rates|"
    r"quote|total|expensive|cheap)\b",
    re.I,
)
"""A question whose answer is an amount of money: sentences without one are weaker answers."""
_HOW_MUCH = re.compile(r"\bhow\s+(?:many|long|far|early|late|old|soon)\b", re.I)
"""A question whose answer is a number: sentences without one are weaker answers."""
_MONEY = re.compile(r"[$\u20ac\u00a3]\s?\d|\d\s?%")
_HOW_MANY = re.compile(r"\bhow\s+many\s+([a-z]+)")
_COUNT = re.compile(r"\b(?:\d+|" + "|".join(_NUMBER_WORDS) + r")\s+([a-z]+)", re.I)
_WHICH = re.compile(r"\b(?:what|which)\b|\b(?:list|options|choices|kinds|types)\b", re.I)
"""A question asking for the members of a set, which a whole list answers."""
_TOTAL = re.compile(r"Total(?: for these items)?:")
_CLAUSE = re.compile(r"[.?!;,]+\s*")


def stem(word: str) -> str:
    """A light, deterministic stemmer: plural and -ing/-ed endings, then a final 'e'."""
    word = CANONICAL.get(word, word)
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        word = word[:-1]
    if word.endswith("ment") and len(word) >= 7:
        word = word[:-4]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def _sequence(text: str) -> list[str]:
    words = _WORD.findall(text.lower().replace("\u2019", "'"))
    return [stem(w.split("'")[0]) for w in words if w.split("'")[0] not in _STOPWORDS]


def terms(text: str) -> set[str]:
    """Lower-cased, stemmed content words of a text (stopwords removed)."""
    words = _WORD.findall(text.lower().replace("\u2019", "'"))
    return {stem(w.split("'")[0]) for w in words if w.split("'")[0] not in _STOPWORDS}


def numbers(text: str) -> set[str]:
    """The numbers a text states, digits or small number words ("$1,200.00" -> "1200")."""
    found = {_number(m) for m in _AMOUNT.findall(text)}
    return found | {_NUMBER_WORDS[w] for w in _WORD.findall(text.lower()) if w in _NUMBER_WORDS}


def _number(raw: str) -> str:
    value = raw.replace(",", "")
    return value.split(".")[0] if re.fullmatch(r"\d+\.0+", value) else value


@dataclass(frozen=True)
class _Unit:
    """Something the answer can say: a sentence, a list item, a whole list or a computed fact."""

    text: str
    """What is said, a whole sentence."""
    own: frozenset[str]
    sequence: tuple[str, ...]
    """Its content words in order: a sentence is mostly about the words it starts with."""
    heading: frozenset[str]
    """Terms of the heading the unit sits under; a question word found only here counts half."""
    passage: int
    position: int
    list_id: int | None = None
    """Fragment items of one markdown list ("- Shrimp") and that list share an id."""
    whole_list: bool = False
    computed: bool = False


def _label(heading: str) -> str:
    return heading.split(">")[-1].strip()


def _with_label(label: str, text: str) -> str:
    return f"{label}: {text}." if label else f"{text}."


def split_units(passages: Sequence[ContextPassage]) -> list[_Unit]:
    """Sentences, list items, whole lists and computed facts of every passage, without repeats."""
    found: list[_Unit] = []
    seen: set[str] = set()
    items: dict[int, list[str]] = {}
    labels: dict[int, tuple[str, int]] = {}
    lists = 0

    def add(text: str, own: str, heading: str, index: int, **extra: Any) -> None:
        key = " ".join(text.lower().split())
        if key in seen or not terms(own):
            return
        seen.add(key)
        found.append(
            _Unit(
                text=text,
                own=frozenset(terms(own)),
                sequence=tuple(_sequence(own)),
                heading=frozenset(terms(heading)),
                passage=index,
                position=len(found),
                **extra,
            )
        )

    for index, passage in enumerate(passages):
        if passage.heading_path == COMPUTED_HEADING:
            for line in passage.text.splitlines():
                add(line.strip(), line, "", index, computed=True)
            continue
        heading, in_list = passage.heading_path, False
        for line in passage.text.splitlines():
            if match := _HEADING.match(line):
                heading, in_list = f"{passage.heading_path} > {match.group(1)}".strip(" >"), False
                continue
            item = bool(_LIST_MARKER.match(line))
            if item and not in_list:
                lists += 1
            in_list = item or (in_list and not line.strip())
            line = _LIST_MARKER.sub("", line).strip().strip("|").strip()
            for piece in (p.strip() for p in _SENTENCE_END.split(line)):
                if item and not piece.endswith((".", "!", "?")) and terms(piece):
                    items.setdefault(lists, []).append(piece.rstrip("."))
                    labels[lists] = (heading, index)
                    add(_with_label(_label(heading), piece), piece, heading, index, list_id=lists)
                else:
                    ended = piece if piece.endswith((".", "!", "?")) else f"{piece}."
                    add(ended, piece, heading, index)
    for list_id, listed in items.items():
        heading, index = labels[list_id]
        text = _with_label(_label(heading), ", ".join(listed))
        add(text, heading, " ".join(listed), index, list_id=list_id, whole_list=True)
    return found


def _idf(units: Sequence[_Unit]) -> Callable[[str], float]:
    """Rarer words weigh more; a word no unit has weighs most (it is what nothing answers)."""
    df: dict[str, int] = {}
    for unit in units:
        if not unit.whole_list:
            for term in unit.own | unit.heading:
                df[term] = df.get(term, 0) + 1
    n = sum(1 for u in units if not u.whole_list)
    return lambda term: math.log((n + 1) / (df.get(term, 0) + 0.5))


class ExtractiveProvider(Provider):
    """Answers with the few passage sentences that answer the question, or says it cannot.

    Relevance is the idf-weighted overlap of stemmed content words between the question and a
    sentence (half for words only in its heading), blended with embedding cosine similarity
    when `embed` is injected.
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
        semantic_floor: float = 0.55,
    ) -> None:
        super().__init__(model=model)
        if max_sentences < 1 or not 0.0 <= semantic_weight <= 1.0:
            raise ValueError("max_sentences must be >= 1 and semantic_weight within 0..1")
        self.provider = provider
        self.max_sentences = max_sentences
        self.semantic_weight = semantic_weight if embed is not None else 0.0
        self.min_score = min_score
        self.relative_floor = relative_floor
        self.semantic_floor = semantic_floor
        """Cosine at which a sentence sharing no word with the question still answers it."""
        self._embed = embed

    async def complete(self, request: CompletionRequest) -> Completion:
        """Compose the answer; never raises for missing context, it says it does not know."""
        started = time.perf_counter()
        text = " ".join(await self.answer(request.question, request.context)) or NO_INFORMATION
        read = [m.content for m in request.messages] + [p.text for p in request.context]
        return Completion(
            text=text,
            model=self.model,
            provider=self.provider,
            input_tokens=sum(len(t.split()) for t in read),
            output_tokens=len(text.split()),
            latency_ms=(time.perf_counter() - started) * 1000.0,
            finish_reason="stop",
        )

    async def answer(self, question: str, context: Sequence[ContextPassage]) -> list[str]:
        """The sentences of the answer, best first; empty when nothing answers."""
        return [u.text for u, _ in await self.ranked(question, context)]

    async def ranked(
        self, question: str, context: Sequence[ContextPassage]
    ) -> list[tuple[_Unit, float]]:
        """The chosen units with their scores, best first; empty when nothing answers."""
        units = split_units(context)
        wanted = {t for t in terms(question) if not t.isdigit()}
        if not units or not wanted or _OVERRIDE.search(question):
            return []
        if _PRICE.search(question) and (bill := _bill(units)):
            return [(u, 1.0) for u in bill]
        idf = _idf(units)
        lexical = [_lexical(wanted, u, idf) for u in units]
        cosine = await self._cosine(question, units)
        if max(lexical) == 0.0 and max(cosine, default=0.0) < self.semantic_floor:
            return []
        given = numbers(question)
        money, number = bool(_COSTS.search(question)), bool(_HOW_MUCH.search(question))
        which = bool(_WHICH.search(question))
        counted = {stem(w) for w in _HOW_MANY.findall(question.lower())}
        weight = self.semantic_weight
        scores: dict[int, float] = {}
        for unit, lex, cos in zip(units, lexical, cosine or [0.0] * len(units), strict=True):
            close = cos >= self.semantic_floor
            if not (lex or close) or not _may_answer(unit, units, question, given, close):
                continue
            score = weight * cos + (1.0 - weight) * lex
            if score <= self.min_score:
                continue
            if (money and not _MONEY.search(unit.text)) or (number and not numbers(unit.text)):
                score *= 0.5
            if counted and _counts(unit.text) & counted:
                score *= 2.0
            if unit.computed:
                score *= 1.2
            if unit.whole_list and which:
                score *= 1.5
            scores[unit.position] = score
        return self._choose(units, scores, _clauses(question))

    def _choose(
        self, units: Sequence[_Unit], scores: dict[int, float], clauses: list[set[str]]
    ) -> list[tuple[_Unit, float]]:
        """The best unit, then the best unit for each part of the question (a clause) that no
        chosen unit answers yet, if it is close enough to the best."""
        ranked = sorted(scores, key=lambda i: (-scores[i], units[i].passage, i))
        if not ranked:
            return []
        floor = self.relative_floor * scores[ranked[0]]
        chosen: list[tuple[_Unit, float]] = []
        open_clauses = list(clauses)
        for index in ranked:
            unit = units[index]
            if len(chosen) == self.max_sentences or scores[index] < floor:
                break
            answered = [c for c in open_clauses if c & (unit.own | unit.heading)]
            if chosen and not any(c & unit.own for c in answered):
                continue
            if any(_overlaps(unit, c) for c, _ in chosen):
                continue
            chosen.append((unit, scores[index]))
            open_clauses = [c for c in open_clauses if c not in answered]
        return chosen

    async def _cosine(self, question: str, units: Sequence[_Unit]) -> list[float]:
        if self._embed is None or self.semantic_weight == 0.0:
            return []
        texts = [question, *(u.text for u in units)]
        vectors = np.asarray(await asyncio.to_thread(self._embed, texts), dtype=np.float64)
        return [float(c) for c in (vectors[1:] @ vectors[0]).tolist()]


def _lexical(wanted: set[str], unit: _Unit, idf: Callable[[str], float]) -> float:
    """How much of the question a unit covers (rare words weigh more, a word found only in its
    heading counts half), discounted gently for length, so a short sentence on the topic beats
    a long one that mentions it in passing while a sentence listing many things still counts."""
    hits = sum(
        idf(t) * _topicality(unit, t)
        if t in unit.own
        else 0.5 * idf(t)
        if t in unit.heading
        else 0.0
        for t in wanted
    )
    if not hits:
        return 0.0
    coverage = hits / sum(idf(t) for t in wanted)
    return coverage / math.sqrt(1.0 + len(unit.own) / 8.0)


def _topicality(unit: _Unit, term: str) -> float:
    """1.0 for a word that opens the sentence down to 0.7 for one that closes it."""
    if term not in unit.sequence:
        return 1.0
    return 1.0 - 0.3 * unit.sequence.index(term) / max(len(unit.sequence) - 1, 1)


def _may_answer(
    unit: _Unit, units: Sequence[_Unit], question: str, given: set[str], close: bool
) -> bool:
    """Whether a unit can answer at all.

    An item answers when the question names something in it. A whole list answers when the
    question names the list (a word of its heading) and either asks which ones ("What proteins
    ...?") or names none of its items ("What are your prices?"). A computed fact answers only
    with a number the customer did not give ("All 12 guests were counted as adults." restates
    the question). A unit `close` in meaning to the question may answer without naming words.
    """
    wanted = terms(question)
    if unit.computed:
        return bool(numbers(unit.text) - given)
    if close:
        return True
    if unit.whole_list:
        named_items = any(
            u.list_id == unit.list_id and not u.whole_list and wanted & u.own for u in units
        )
        return bool(wanted & unit.own) and (not named_items or bool(_WHICH.search(question)))
    return unit.list_id is None or bool(wanted & unit.own)


def _counts(text: str) -> set[str]:
    """Stems of the words a number counts ("two proteins" -> "protein")."""
    return {stem(w.lower()) for w in _COUNT.findall(text)}


def _clauses(question: str) -> list[set[str]]:
    """The parts of a question (its sentences and comma-separated clauses) with content words."""
    parts = ({t for t in terms(p) if not t.isdigit()} for p in _CLAUSE.split(question))
    return [p for p in parts if p]


def _overlaps(unit: _Unit, chosen: _Unit) -> bool:
    """A list and one of its items say the same thing; so do two units with the same words."""
    same_list = unit.list_id is not None and unit.list_id == chosen.list_id
    return same_list or unit.own == chosen.own


def _bill(units: Sequence[_Unit]) -> list[_Unit]:
    """The computed quote from its first line through its total: the lines the calculator
    writes before "Total:" (guests, upgrades, discount, minimum, add-ons, tax, travel)."""
    computed = [u for u in units if u.computed]
    end = next((i for i, u in enumerate(computed) if _TOTAL.match(u.text)), None)
    if end is not None:
        return computed[: end + 1]
    return [u for u in computed if "$" in u.text]
