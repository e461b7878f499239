"""Which named thing the evidence says a word about: attributes swapped between entities.

"Both The New Pornographers and Kings of Leon are American rock bands" uses only evidence
words, but the evidence says "American" about Kings of Leon and "Canadian" about The New
Pornographers. A careful reader checks that each name the claim (or the question) mentions
is said to have each property, not merely that the words occur somewhere. A word is bound
to a name when it stands in a sentence mentioning that name, or in the sentences that go on
about it with a pronoun ("It contains only one species").

Only swaps between names the claim or the question itself mentions count: a word the
evidence uses without any of those names, or with the claim's own name, proves nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from triad.ensemble.critic.analysis import Entity, analyse_claim
from triad.ensemble.critic.claims import ClaimSpan
from triad.ensemble.critic.facts import extract_facts
from triad.ensemble.critic.index import EvidenceIndex
from triad.ensemble.critic.text import STOPWORDS, stem, tokens

_CONTINUES_RE = re.compile(r"^\W*(?:it|he|she|they|his|her|its|their)\b", re.IGNORECASE)
_YES_NO_RE = re.compile(
    r"^\W*(?:is|are|was|were|do|does|did|can|could|has|have|had|will|would|should)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Swap:
    """A word the evidence says about `other` and never about `name`."""

    word: str
    name: str
    other: str


def _mentions(words: frozenset[str], entity: Entity) -> bool:
    named = [w for w in entity.words if w not in STOPWORDS] or list(entity.words)
    return 2 * sum(w in words for w in named) >= len(named)


def _about(index: EvidenceIndex, entities: Sequence[Entity]) -> list[frozenset[int]]:
    """For every evidence sentence, which of `entities` it is about."""
    out: list[frozenset[int]] = []
    for i, s in enumerate(index.sentences):
        here = frozenset(k for k, e in enumerate(entities) if _mentions(s.words, e))
        if not here and i and _CONTINUES_RE.match(s.text):
            here = out[i - 1]
        out.append(here)
    return out


def swapped(
    names: Sequence[Entity], words: set[str], index: EvidenceIndex, others: Sequence[Entity] = ()
) -> Swap | None:
    """A word of `words` that every evidence sentence using it says about another of the
    names (from `names` or `others`), and none about the name it is claimed of."""
    entities = _distinct([*names, *others])
    if len(entities) < 2:
        return None
    about = _about(index, entities)
    named = {stem(w) for e in entities for w in e.words}
    for k, e in enumerate(entities[: len(_distinct(names))]):
        for w in sorted(words - named):
            hits = sorted(index.containing({w}))
            if not hits:
                continue
            if any(k in about[i] or not about[i] for i in hits):
                continue
            other = next(iter(sorted(about[hits[0]])))
            return Swap(w, e.text, entities[other].text)
    return None


def unbound(names: Sequence[Entity], words: set[str], index: EvidenceIndex) -> bool:
    """True unless every word is said, without negation, about every one of the names."""
    entities = _distinct(names)
    if not entities or not words:
        return True
    about = _about(index, entities)
    for k, _ in enumerate(entities):
        for w in words:
            if not any(
                k in about[i] and w in index.sentences[i].subject for i in index.containing({w})
            ):
                return True
    return False


def _attributive(word: str, index: EvidenceIndex) -> bool:
    """A capitalised word the evidence only ever writes before a noun ("an American rock
    band"): an adjective, not a name."""
    pattern = re.compile(rf"\b{re.escape(word)}\b\s*(\S*)")
    seen = False
    for i in index.containing({stem(word)}):
        for m in pattern.finditer(index.sentences[i].text):
            nxt = m.group(1)
            if not nxt[:1].islower() or nxt.lower() in STOPWORDS:
                return False
            seen = True
    return seen


def names_of(entities: Sequence[Entity], index: EvidenceIndex) -> tuple[list[Entity], set[str]]:
    """The names as the evidence writes them, and the stems of words cut off their end.

    A run of capitalised words can swallow an attribute ("Kings of Leon American rock
    bands"): a name ends where the evidence never writes its next word right after it."""
    names: list[Entity] = []
    cut: set[str] = set()
    for e in entities:
        if len(e.words) == 1 and _attributive(e.text, index):
            cut.add(stem(e.words[0]))
            continue
        toks = tokens(e.text)
        low = [t.lower for t in toks]
        keep = len(low)
        for k in range(1, len(low)):
            a, b = low[k - 1], low[k]
            if not index.evidence_has(f"{a}-{b}") and _attributive(toks[k].text, index):
                keep = k
                break
        if keep == len(low):
            names.append(e)
            continue
        kept = set(low[:keep])
        text = e.text[: toks[keep - 1].end]
        names.append(Entity(text, tuple(w for w in e.words if w in kept), e.start,
                            e.start + len(text), e.negated))  # fmt: skip
        cut |= {stem(w) for w in low[keep:] if w not in STOPWORDS}
    return names, cut


def _distinct(entities: Sequence[Entity]) -> list[Entity]:
    seen: set[tuple[str, ...]] = set()
    out = []
    for e in entities:
        if e.words and e.words not in seen:
            seen.add(e.words)
            out.append(e)
    return out


@dataclass(frozen=True, slots=True)
class Proposition:
    """A yes/no question read as a claim: the names it asks about and what it asks of them."""

    names: tuple[Entity, ...]
    words: frozenset[str]


@lru_cache(maxsize=1024)
def proposition(question: str) -> Proposition | None:
    """The names and predicate words of a yes/no question, or None for any other question."""
    if not _YES_NO_RE.match(question):
        return None
    a = analyse_claim(ClaimSpan(question, 0, len(question)), extract_facts(question))
    if a.scopes or not a.entities:
        return None
    return Proposition(tuple(a.entities), frozenset(a.positive_stems - a.entity_stems))


@lru_cache(maxsize=1024)
def question_names(question: str) -> tuple[Entity, ...]:
    """The names a question mentions: candidates for a swapped attribute."""
    a = analyse_claim(ClaimSpan(question, 0, len(question)), extract_facts(question))
    return tuple(e for e in a.entities if not e.negated)


def answer_to(index: EvidenceIndex) -> tuple[bool, str] | None:
    """What the evidence answers to a yes/no question about named things: (False, why) when
    it says one of the asked properties only of another name, (True, why) when it says every
    asked property of every name; None when it cannot tell."""
    asked = [q.text for q in index.question if q.text.rstrip().endswith("?")]
    p = next((x for x in map(proposition, asked) if x is not None), None)
    if p is None:
        return None
    names, cut = names_of(p.names, index)
    words = set(p.words) | cut
    if not words:
        return None
    swap = swapped(names, words, index)
    if swap is not None:
        return False, f"the evidence says '{swap.word}' of '{swap.other}', not of '{swap.name}'"
    if not all(index.containing({w}) for w in words):
        return None
    if unbound(names, words, index):
        return None
    return True, "the evidence says what the question asks of every name it mentions"
