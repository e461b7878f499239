"""EvidenceIndex: every evidence sentence plus the question, with postings for fast lookups.

The business-rule facts are identical on every turn and the passages often repeat, so each
group of texts is aggregated once (a segment, cached by its texts) and a turn's index only
stitches two segments and the question together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from triad.ensemble.critic.arithmetic import Operand, operand
from triad.ensemble.critic.evidence import Origin, Sentence, analyse_text
from triad.ensemble.critic.facts import Fact

OperandKey = tuple[tuple[str, str, float], frozenset[str]]


@dataclass(frozen=True)
class Segment:
    """The aggregated analysis of one group of evidence texts."""

    sentences: tuple[Sentence, ...]
    df: Counter[str]
    proper: frozenset[str]
    stems: frozenset[str]
    words: frozenset[str]
    days: frozenset[int]
    postings: dict[str, list[int]]
    positions: dict[str, list[tuple[int, int]]]
    facts_by_kind: dict[str, list[tuple[int, int]]]
    operands: dict[OperandKey, Operand]
    groups: dict[str, list[int]]


@lru_cache(maxsize=256)
def segment(texts: tuple[str, ...], origin: Origin) -> Segment:
    """Analyse and aggregate a group of texts once; identical sentences count once."""
    sentences: list[Sentence] = []
    seen: set[str] = set()
    for text in texts:
        for s in analyse_text(text, origin):
            if s.text not in seen:
                seen.add(s.text)
                sentences.append(s)
    df: Counter[str] = Counter()
    proper: set[str] = set()
    stems: set[str] = set()
    words: set[str] = set()
    days: set[int] = set()
    postings: dict[str, list[int]] = {}
    positions: dict[str, list[tuple[int, int]]] = {}
    by_kind: dict[str, list[tuple[int, int]]] = {}
    operands: dict[OperandKey, Operand] = {}
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(sentences):
        if s.group:
            groups.setdefault(s.group, []).append(i)
        df.update(s.stems)
        proper |= s.inner_capitalised
        topic = s.stems | s.context
        stems |= topic
        words |= s.words | s.bigrams
        days |= s.days
        for w in topic:
            postings.setdefault(w, []).append(i)
        for p, w in enumerate(s.seq):
            positions.setdefault(w, []).append((i, p))
        for j, f in enumerate(s.facts):
            by_kind.setdefault(f.kind, []).append((i, j))
            if (f.kind == "money" and f.rate) or f.kind == "duration":
                op = operand(f, f"e:{f.key}", topic)
                if op is not None:
                    operands.setdefault((f.key, topic), op)
    return Segment(
        tuple(sentences), df, frozenset(proper), frozenset(stems), frozenset(words),
        frozenset(days), postings, positions, by_kind, operands, groups,
    )  # fmt: skip


class EvidenceIndex:
    """All evidence sentences plus the question; lookups run over the cached segments, so
    building a turn's index costs almost nothing."""

    def __init__(self, parts: Sequence[Segment], question: list[Sentence]) -> None:
        self.parts = [(part, sum(len(p.sentences) for p in parts[:k])) for k, part in
                      enumerate(parts)]  # fmt: skip
        self.sentences = [s for part in parts for s in part.sentences]
        self.question = question
        self.question_text = " ".join(q.text for q in question)
        self.question_stems = frozenset().union(*(q.stems for q in question))
        self.question_terms = frozenset(w for q in question for w in q.seq)
        self.question_facts: list[Fact] = [f for q in question for f in q.facts]
        self.proper = frozenset().union(*(p.proper for p in parts))
        self._question_words = frozenset().union(*(q.words | q.bigrams for q in question))
        self._question_days = frozenset().union(*(q.days for q in question))
        operands: dict[OperandKey, Operand] = {}
        for part in parts:
            for key, op in part.operands.items():
                operands.setdefault(key, op)
        self.rate_operands = list(operands.values())
        self._names: dict[int, frozenset[str]] = {}

    @classmethod
    def build(
        cls, question: str, evidence: Iterable[str], facts: Iterable[str] = ()
    ) -> EvidenceIndex:
        """The index of one turn: the facts' segment, the passages' segment, the question."""
        parts = [segment(tuple(facts), "fact"), segment(tuple(evidence), "passage")]
        return cls(parts, analyse_text(question, "question"))

    def names(self, i: int) -> frozenset[str]:
        """Proper names in sentence `i`: capitalised words the evidence also uses mid-sentence."""
        if i not in self._names:
            self._names[i] = self.sentences[i].capitalised & self.proper
        return self._names[i]

    def siblings(self, i: int) -> list[int]:
        """Sentence `i` and the other items of the markdown list it belongs to."""
        group = self.sentences[i].group
        if not group:
            return [i]
        for part, offset in self.parts:
            if offset <= i < offset + len(part.sentences):
                return [j + offset for j in part.groups.get(group, [i - offset])]
        return [i]

    def has_day(self, day: int) -> bool:
        return day in self._question_days or any(day in p.days for p, _ in self.parts)

    def knows_stem(self, stem: str) -> bool:
        """True when a content stem occurs anywhere in the evidence or the question."""
        return stem in self.question_stems or any(stem in p.stems for p, _ in self.parts)

    def is_rare(self, stem: str, max_df: int = 3) -> bool:
        """True for a word in at most `max_df` evidence sentences."""
        return sum(p.df.get(stem, 0) for p, _ in self.parts) <= max_df

    def knows_word(self, word: str) -> bool:
        """True when a word (or a hyphenated compound) occurs in evidence or question."""
        w = word.lower().replace("\u2019", "'")
        if w.endswith("'s"):
            w = w[:-2]
        return w in self._question_words or any(w in p.words for p, _ in self.parts)

    def evidence_has(self, word: str) -> bool:
        """True when a lower-cased word or "a-b" bigram occurs in the evidence itself."""
        return any(word in p.words for p, _ in self.parts)

    def containing(self, stems: Iterable[str]) -> set[int]:
        """Indexes of the evidence sentences holding any of `stems`."""
        out: set[int] = set()
        for w in stems:
            for part, offset in self.parts:
                out.update(i + offset for i in part.postings.get(w, ()))
        return out

    def places(self, word: str) -> list[tuple[int, int]]:
        """(sentence, position) of every occurrence of a stem or value token."""
        return [
            (i + offset, p) for part, offset in self.parts for i, p in part.positions.get(word, ())
        ]

    def facts_of(self, kind: str) -> list[tuple[int, int]]:
        """(sentence, fact) indexes of every evidence fact of one kind."""
        return [
            (i + offset, j)
            for part, offset in self.parts
            for i, j in part.facts_by_kind.get(kind, ())
        ]


def texts_of(evidence: Sequence[str]) -> list[str]:
    """Evidence as plain strings, blank ones dropped."""
    return [e for e in evidence if e and e.strip()]
