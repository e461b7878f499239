"""Split an answer into claims with exact character spans.

A hallucination usually hides in one clause of an otherwise correct sentence ("free as many
times as you need", "$45 before tax"), so sentences are cut further at clause connectors;
the spans let the UI underline exactly what failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from triad.ensemble.critic.text import WORD_RE, sentence_spans

_CONNECTOR_RE = re.compile(
    r"\s*;\s*|,\s+and\s+|,?\s+but\s+|,\s+so\s+|\s+so\s+(?!that\b|much\b|many\b|far\b|long\b)"
    r"|,\s+which\s+means\s+|,\s+(?:though|although|whereas|while)\s+|:\s+(?=[A-Z])",
    re.IGNORECASE,
)
_ITEM_CUT_RE = re.compile(r",(?!\d)\s*(?:(?:and|or)\s+)?|\s+(?:and|or)\s+(?=\S)", re.IGNORECASE)
MIN_CLAUSE_WORDS = 3


@dataclass(frozen=True, slots=True)
class ClaimSpan:
    """One claim: its text is exactly `answer[start:end]`."""

    text: str
    start: int
    end: int


def _words(text: str) -> int:
    return len(WORD_RE.findall(text)) + len(re.findall(r"\d+", text))


def _depth_at(text: str, index: int) -> int:
    return text.count("(", 0, index) - text.count(")", 0, index)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] in ",;:"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"):
        end -= 1
    return start, end


def list_items(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Spans of the members of an enumeration: `text` cut at top-level commas and and/or."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _ITEM_CUT_RE.finditer(text):
        if text.count("(", 0, m.start()) != text.count(")", 0, m.start()):
            continue
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        while a < b and (text[a].isspace() or text[a] in "-*•"):
            a += 1
        while b > a and (text[b - 1].isspace() or text[b - 1] in ".;!"):
            b -= 1
        if b > a:
            out.append((a + offset, b + offset))
    return out


def clause_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut `text[start:end]` at clause connectors when both sides are real clauses."""
    cuts: list[tuple[int, int]] = []
    members = [_words(text[a:b]) for a, b in list_items(text[start:end])]
    enumeration = len(members) >= 3 and sorted(members)[len(members) // 2] <= 4
    for m in _CONNECTOR_RE.finditer(text, start, end):
        if enumeration and m.group(0).strip(" ,").lower() == "and":
            continue
        if _depth_at(text, m.start()) != 0:
            continue
        left_from = cuts[-1][1] if cuts else start
        if _words(text[left_from : m.start()]) < MIN_CLAUSE_WORDS:
            continue
        if _words(text[m.end() : end]) < MIN_CLAUSE_WORDS:
            continue
        if m.group(0).lstrip().startswith(":") and len(list_items(text[m.end() : end])) >= 2:
            continue
        cuts.append((m.start(), m.end()))
    pieces: list[tuple[int, int]] = []
    cursor = start
    for cut_start, cut_end in cuts:
        pieces.append(_trim(text, cursor, cut_start))
        cursor = cut_end
    pieces.append(_trim(text, cursor, end))
    return [p for p in pieces if p[1] > p[0]]


def split_claims(text: str) -> list[ClaimSpan]:
    """Sentences, then clauses; every claim's text equals `text[start:end]`."""
    claims: list[ClaimSpan] = []
    for s_start, s_end in sentence_spans(text):
        for c_start, c_end in clause_spans(text, s_start, s_end):
            claims.append(ClaimSpan(text[c_start:c_end], c_start, c_end))
    return claims
