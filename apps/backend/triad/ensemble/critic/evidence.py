"""The evidence an answer is checked against, analysed once and cached by text.

Passages, business-rule facts and the question become sentences with their content stems,
typed facts, negated words and vocabulary; the same rule sentences arrive on every turn, so
each distinct text is analysed only once per process.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from triad.ensemble.critic.claims import clause_spans, list_items
from triad.ensemble.critic.facts import Fact, expand_day_ranges, extract_facts
from triad.ensemble.critic.text import (
    EXISTENCE,
    Token,
    content_stems,
    has_negation,
    is_cue,
    negation_scope_end,
    sentence_spans,
    tokens,
    words_of,
)

Origin = Literal["passage", "fact", "question"]
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+(.*)$")
_LIST_RE = re.compile(r"^\s{0,8}(?:[-*+\u2022]|\d{1,2}[.)])\s+")

_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Clause:
    """A clause of an evidence sentence, with the words a negation in it governs."""

    stems: frozenset[str]
    negated: bool
    negated_stems: frozenset[str]
    positive_stems: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Item:
    """One member of an enumeration ("Scallops: +$5", "Elk Grove"), with its words and values."""

    stems: frozenset[str]
    facts: tuple[Fact, ...]
    negated: bool


def make_items(text: str, toks: list[Token], facts: Sequence[Fact], scopes: list[tuple[int, int]]
               ) -> tuple[Item, ...]:  # fmt: skip
    """The members of `text` read as an enumeration, each with its stems and values."""
    inside = [(f.start, f.end) for f in facts]
    out = []
    for a, b in list_items(text):
        ts = [t for t in toks if a <= t.start < b and not any(s <= t.start < e for s, e in inside)]
        out.append(
            Item(
                frozenset(content_stems(ts)),
                tuple(f for f in facts if a <= f.start < b),
                any(x < a + 1 and a < y for x, y in scopes) or any(is_cue(t) for t in ts),
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Sentence:
    """One evidence sentence, analysed."""

    text: str
    origin: Origin
    stems: frozenset[str]
    context: frozenset[str]
    facts: tuple[Fact, ...]
    fact_windows: tuple[frozenset[str], ...]
    clauses: tuple[Clause, ...]
    subject: frozenset[str]
    words: frozenset[str]
    plain: frozenset[str]
    bigrams: frozenset[str]
    days: frozenset[int]
    capitalised: frozenset[str]
    inner_capitalised: frozenset[str]
    seq: tuple[str, ...]
    items: tuple[Item, ...] = ()
    group: str = ""
    """Sentences of one markdown list share a group: its items are siblings."""


_NOT_NAMES = words_of(
    """january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday"""
)


def _is_name(t: Token) -> bool:
    return t.is_capitalised and not t.is_stopword and t.lower not in _NOT_NAMES


def fact_token(f: Fact) -> str:
    """A pseudo-word for a typed value, so values line up with words in a sequence."""
    return f"#{f.kind}:{f.unit}:{round(f.value, 4)}"


def sequence(toks: list[Token], facts: Sequence[Fact]) -> tuple[str, ...]:
    """Content stems and typed values of a text, in reading order."""
    items: list[tuple[int, str]] = [(f.start, fact_token(f)) for f in facts]
    inside = [(f.start, f.end) for f in facts]
    items += [
        (t.start, t.stem)
        for t in toks
        if not t.is_stopword and len(t.lower) > 1 and not any(a <= t.start < b for a, b in inside)
    ]
    return tuple(w for _, w in sorted(items))


def negated_spans(text: str, toks: list[Token]) -> list[tuple[int, int]]:
    """Character spans governed by each negation cue of `text`."""
    return [(t.start, negation_scope_end(text, t.end)) for t in toks if is_cue(t)]


def window_stems(toks: list[Token], start: int, end: int, width: int = 5) -> frozenset[str]:
    """Content stems of the `width` words on either side of a span."""
    content = [t for t in toks if not t.is_stopword and len(t.lower) > 1]
    before = [t for t in content if t.end <= start][-width:]
    after = [t for t in content if t.start >= end][:width]
    return frozenset(t.stem for t in before + after)


def analyse_sentence(
    text: str, origin: Origin, context: frozenset[str] = frozenset(), group: str = ""
) -> Sentence:
    """Everything the checks need to know about one evidence sentence."""
    toks = tokens(text)
    facts = tuple(extract_facts(text))
    inside = [(f.start, f.end) for f in facts]
    words = [t for t in toks if not any(s <= t.start < e for s, e in inside)]
    scopes = negated_spans(text, words)
    negated_all: set[str] = set()
    clauses = []
    for start, end in clause_spans(text, 0, len(text)):
        ctoks = [t for t in words if start <= t.start < end]
        neg = {
            t.stem for t in ctoks if not t.is_stopword and any(a < t.start < b for a, b in scopes)
        }
        for cue in (t for t in ctoks if is_cue(t)):
            stop = negation_scope_end(text, cue.end)
            scope = {t.stem for t in ctoks if cue.start < t.start < stop and not t.is_stopword}
            if scope <= EXISTENCE:
                neg |= {t.stem for t in ctoks if t.start < cue.start and not t.is_stopword}
        negated_all |= neg
        plain = [t for t in ctoks if t.stem not in neg]
        clauses.append(
            Clause(
                frozenset(content_stems(ctoks)),
                has_negation(ctoks),
                frozenset(neg),
                frozenset(content_stems(plain)) - neg,
            )
        )
    lowers = [t.lower for t in toks]
    vocab = set(lowers) | {p for w in lowers if "-" in w for p in w.split("-")}
    vocab |= {w[:-2] for w in lowers if w.endswith("'s")}
    stems = frozenset(content_stems(words))
    return Sentence(
        text=text,
        origin=origin,
        stems=stems,
        context=context,
        facts=facts,
        fact_windows=tuple(window_stems(words, f.start, f.end) for f in facts),
        clauses=tuple(clauses),
        subject=stems - negated_all,
        words=frozenset(vocab),
        plain=frozenset(lowers),
        bigrams=frozenset(f"{a}-{b}" for a, b in pairwise(lowers)),
        days=frozenset(expand_day_ranges(text)),
        seq=sequence(toks, facts),
        capitalised=frozenset(t.stem for t in words if _is_name(t)),
        inner_capitalised=frozenset(t.stem for t in words[1:] if _is_name(t)),
        items=make_items(text, toks, facts, scopes),
        group=group,
    )


class _LRU(OrderedDict[tuple[str, Origin], list[Sentence]]):
    _lock = threading.Lock()

    def get_or(self, key: tuple[str, Origin]) -> list[Sentence] | None:
        with self._lock:
            hit = self.get(key)
            if hit is not None:
                self.move_to_end(key)
            return hit

    def put(self, key: tuple[str, Origin], value: list[Sentence]) -> None:
        with self._lock:
            self[key] = value
            if len(self) > _CACHE_SIZE:
                self.popitem(last=False)


_CACHE = _LRU()


def analyse_text(text: str, origin: Origin) -> list[Sentence]:
    """A passage split into analysed sentences; markdown headings become context words."""
    key = (text, origin)
    hit = _CACHE.get_or(key)
    if hit is not None:
        return hit
    out: list[Sentence] = []
    heading: frozenset[str] = frozenset()
    lists, in_list = 0, False
    for line in text.splitlines() or [text]:
        m = _HEADING_RE.match(line)
        if m:
            heading = frozenset(content_stems(tokens(m.group(1))))
            in_list = False
            continue
        is_item = bool(_LIST_RE.match(line))
        if is_item and not in_list:
            lists += 1
        in_list = is_item or (in_list and not line.strip())
        group = f"{hash(text)}:{lists}" if is_item else ""
        for start, end in sentence_spans(line):
            out.append(analyse_sentence(line[start:end], origin, heading, group))
    _CACHE.put(key, out)
    return out
