"""What one claim says, in the pieces the checks compare: facts, entities, words, polarity."""

from __future__ import annotations

import re
from dataclasses import dataclass

from triad.ensemble.critic.claims import ClaimSpan
from triad.ensemble.critic.discourse import is_abstention, is_courtesy, is_question
from triad.ensemble.critic.facts import Fact
from triad.ensemble.critic.text import (
    NEGATION_CUES,
    STOPWORDS,
    Token,
    is_cue,
    negation_scope_end,
    stem,
    tokens,
    words_of,
)

_CONNECTORS = frozenset({"of", "de", "la", "del", "van", "von", "der", "du", "da", "y", "&"})
_NON_ENTITY = words_of(
    """
    monday tuesday wednesday thursday friday saturday sunday mondays
    tuesdays wednesdays thursdays fridays saturdays sundays i am pm
    """
)
_CODE_RE = re.compile(
    r"\b(?!\d+(?:st|nd|rd|th)\b)(?=[A-Za-z0-9]*[A-Za-z])(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{4,}\b"
)
_AFFIRM_RE = re.compile(r"^\s*(?:yes|yeah|yep|sure|absolutely|of course|definitely|certainly)\b",
                        re.IGNORECASE)  # fmt: skip
_PARTICLE_RE = re.compile(
    r"^\s*(?:no|nope|unfortunately,? no|sorry,? no)\s*[,:.!;-]", re.IGNORECASE
)
_REFUSAL_RE = re.compile(r"^\s*(?:no|nope)\s*[.!]?\s*$", re.IGNORECASE)
_REQUEST_RE = re.compile(
    r"^\s*(?:please|just|feel free|let us know|reach out|contact us|send us|give us|call us)\b"
    r"(?!.*\bnote\b)",
    re.IGNORECASE,
)
_GREETING_RE = re.compile(
    r"^\s*(?:happy|congratulations|congrats|welcome|thanks|thank you|hi|hello|great question|"
    r"good news|sounds (?:great|fun|lovely))\b[^.?]*[!.]?\s*$",
    re.IGNORECASE,
)
SCOPE_WORDS = frozenset({"many", "always", "whole", "unlimited", "every", "free", "guarantee"})
PROMISE_WORDS = SCOPE_WORDS | frozenset(
    {"complimentary", "included", "include", "includes", "discount", "discounted", "refund",
     "refundable", "waive", "waived", "bonus", "extra", "guaranteed", "promise", "never"}
)  # fmt: skip
"""Words that grant the customer something: an application of a rule may not add one."""


@dataclass(frozen=True, slots=True)
class Entity:
    """A named thing or item phrase the claim mentions, with its words."""

    text: str
    words: tuple[str, ...]
    start: int
    end: int
    negated: bool


@dataclass
class ClaimAnalysis:
    """A claim broken into what the checks need."""

    span: ClaimSpan
    toks: list[Token]
    facts: list[Fact]
    entities: list[Entity]
    content: list[Token]
    scopes: list[tuple[int, int]]
    affirms: bool
    smalltalk: bool
    refuses: bool = False
    """Opens with a bare "No" ("No, you cannot."): it denies what the question asks."""
    question: bool = False
    abstains: bool = False
    consequence: bool = False
    """Continues the previous claim of its sentence with "so", "therefore", "which means":
    it applies what that claim states to the customer's situation."""

    def negated_at(self, offset: int) -> bool:
        return any(a < offset < b for a, b in self.scopes)

    @property
    def entity_stems(self) -> set[str]:
        return {stem(w) for e in self.entities for w in e.words}

    @property
    def positive_stems(self) -> set[str]:
        return {t.stem for t in self.content if not self.negated_at(t.start)}

    @property
    def negated_stems(self) -> set[str]:
        words = {t.stem for t in self.content if self.negated_at(t.start)}
        return words | {stem(w) for e in self.entities if e.negated for w in e.words}

    @property
    def stems(self) -> set[str]:
        return {t.stem for t in self.content}


def _entities(
    text: str, toks: list[Token], scopes: list[tuple[int, int]], first: int
) -> list[Entity]:
    out: list[Entity] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if not t.is_capitalised or t.lower in _NON_ENTITY:
            i += 1
            continue
        run = [t]
        j = i + 1
        while j < len(toks):
            gap = text[run[-1].end - first : toks[j].start - first]
            nxt = toks[j]
            if gap.strip(" ") not in ("", "&") and gap.strip() != "'s":
                break
            if (nxt.is_capitalised and nxt.lower not in _NON_ENTITY) or (
                nxt.lower in _CONNECTORS and j + 1 < len(toks) and toks[j + 1].is_capitalised
            ):
                run.append(nxt)
            else:
                break
            j += 1
        words = [w for w in run]
        while words and (words[0].is_stopword or words[0].lower in _CONNECTORS):
            words.pop(0)
        sentence_initial = bool(words) and words[0] is toks[0] and len(words) == 1
        if words and not sentence_initial:
            start, end = words[0].start, words[-1].end
            out.append(
                Entity(
                    text=text[start - first : end - first],
                    words=tuple(w.lower for w in words if w.lower not in _CONNECTORS),
                    start=start,
                    end=end,
                    negated=any(a < start < b for a, b in scopes),
                )
            )
        i = j
    for m in _CODE_RE.finditer(text):
        start = m.start() + first
        out.append(
            Entity(m.group(0), (m.group(0).lower(),), start, m.end() + first,
                   any(a < start < b for a, b in scopes))
        )  # fmt: skip
    return out


def analyse_claim(span: ClaimSpan, facts: list[Fact]) -> ClaimAnalysis:
    """Split a claim into facts, entities, content words and negation cues."""
    toks = tokens(span.text, span.start)
    inside = [(f.start, f.end) for f in facts]
    words = [t for t in toks if not any(s <= t.start < e for s, e in inside)]
    particle = _PARTICLE_RE.match(span.text)
    scopes = [
        (t.start, negation_scope_end(span.text, t.end, span.start))
        for t in words
        if is_cue(t) and not (particle and t.start - span.start < particle.end())
    ]
    entities = _entities(span.text, words, scopes, span.start) if words else []
    in_entity = {(e.start, e.end) for e in entities}
    content = [
        t
        for t in words
        if (t.lower not in STOPWORDS or t.lower in SCOPE_WORDS)
        and len(t.lower) > 1
        and not any(s <= t.start < e for s, e in in_entity)
        and t.lower not in NEGATION_CUES
    ]
    return ClaimAnalysis(
        span=span,
        toks=toks,
        facts=facts,
        entities=entities,
        content=content,
        scopes=scopes,
        affirms=bool(_AFFIRM_RE.match(span.text)),
        smalltalk=bool(
            _REQUEST_RE.match(span.text)
            or _GREETING_RE.match(span.text)
            or is_courtesy(span.text)
            or (_AFFIRM_RE.match(span.text) and len(content) <= 1)
        ),
        refuses=bool(particle or _REFUSAL_RE.match(span.text)),
        question=is_question(span.text),
        abstains=is_abstention(span.text),
    )
