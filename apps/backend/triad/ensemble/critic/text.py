"""Tokens, light stems and sentence boundaries shared by claims, evidence and checks.

Everything here is deliberately crude and language-agnostic beyond English function words:
the critic compares an answer with its evidence, so both sides only need to be normalised
the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from triad.lexicon import CANONICAL

WORD_RE = re.compile(
    r"[A-Za-z\u00C0-\u024F][A-Za-z\u00C0-\u024F'\u2019]*(?:-[A-Za-z0-9\u00C0-\u024F']+)*"
)


def words_of(text: str) -> frozenset[str]:
    """The whitespace-separated words of a literal, as a set."""
    return frozenset(text.split())


STOPWORDS = words_of(
    """
    a about above across after again against ago all almost along also although always am an and
    another any anyone anything anyway anywhere are around as at be became because become been
    before being below between both but by can could did do does doing done down during each
    either else enough etc even ever every few for from further get gets getting go goes going
    got had has have having he her here hers herself him himself his how however i if in into is
    it its itself just least less let like lot lots made make makes many may me might mine more
    most much must my myself near need needs neither next no nobody none nor not nothing now of
    off often on once one only onto or other others otherwise our ours ourselves out over own
    per please quite rather really same see she should since so some someone something sometimes
    soon still such than that the their theirs them themselves then there these they thing
    things this those though through thus to too toward towards under until up upon us use used
    very via want wants was we well were what whatever when where whether which while who whom
    whose why will with within without would yes yet you your yours yourself yourselves it's
    that's there's here's what's let's i'm i've i'd i'll you're you've you'd you'll we're we've
    we'd we'll they're they've they'd they'll he's she's isn't aren't wasn't weren't don't
    doesn't didn't can't cannot couldn't won't wouldn't shouldn't haven't hasn't hadn't instead
    just also sure okay ok oh hi hello hey thanks thank sorry great absolutely certainly
    definitely happy glad welcome yeah yep nope unfortunately actually basically anytime either
    way ways able long note ask asked asking enjoy enjoys love loves like likes prefer prefers
    choose chooses chose pick picks select wish method methods option options kind kinds type
    types sort
    """
)

NEGATION_CUES = words_of(
    """
    not no never cannot without nor none neither n't don't doesn't didn't can't couldn't won't
    wouldn't isn't aren't wasn't weren't shouldn't haven't hasn't hadn't nothing nobody
    """
)

_ABBREVIATIONS = words_of(
    """
    mr mrs ms dr st jr sr vs etc inc ltd co no mt ft prof gen col lt sgt capt gov sen rep jan
    feb mar apr jun jul aug sep sept oct nov dec mk approx fig
    """
)
_BOUNDARY_RE = re.compile(r"[.!?]+[\"'\u201d\u2019)]*(?=\s|$|[A-Z\"\u201c])|\n+")
_SCOPE_STOP_RE = re.compile(r"[,;:.!?()]|\s(?:but|so|because|since|which|while)\s")
_NEXT_WORD_RE = re.compile(r"\s*([A-Za-z']+)")
_SUFFIXES = (
    ("ational", "ate"),
    ("ements", ""),
    ("ement", ""),
    ("ments", ""),
    ("ment", ""),
    ("ings", ""),
    ("ing", ""),
    ("ies", "y"),
    ("ied", "y"),
    ("ness", ""),
    ("edly", ""),
    ("ed", ""),
    ("ly", ""),
    ("es", ""),
    ("s", ""),
)


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a text with its offsets, lower-cased form and stem."""

    text: str
    lower: str
    stem: str
    start: int
    end: int

    @property
    def is_stopword(self) -> bool:
        return self.lower in STOPWORDS

    @property
    def is_capitalised(self) -> bool:
        return self.text[:1].isupper()


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A crude suffix-stripping stem so that plurals and verb forms meet their base word."""
    w = word.lower().replace("\u2019", "'")
    w = CANONICAL.get(w, w)  # then stemmed like the knowledge base's own word
    if w.endswith("'s"):
        w = w[:-2]
    w = w.strip("'")
    if "-" in w:
        return "-".join(stem(part) for part in w.split("-") if part)
    if len(w) <= 3 or w.endswith("ss"):
        return w
    for suffix, repl in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= (5 if suffix == "ly" else 3):
            base = w[: len(w) - len(suffix)] + repl
            if suffix in ("ing", "ed", "edly") and len(base) > 3 and base[-1] == base[-2]:
                base = base[:-1]
            return base.rstrip("e") if len(base) > 4 else base
    return w.rstrip("e") if len(w) > 4 else w


def tokens(text: str, offset: int = 0) -> list[Token]:
    """Every word of `text` (numbers are the business of `facts`), with absolute offsets."""
    out: list[Token] = []
    for m in WORD_RE.finditer(text):
        word = m.group(0).rstrip("'\u2019")
        lower = word.lower().replace("\u2019", "'")
        out.append(
            Token(word, lower, stem(lower), m.start() + offset, m.start() + offset + len(word))
        )
    return out


def content_stems(toks: list[Token]) -> set[str]:
    """Stems of the words that carry meaning (no function words)."""
    return {t.stem for t in toks if not t.is_stopword and len(t.lower) > 1}


def is_cue(token: Token) -> bool:
    """True for a negation word ("not", "no", "never", "can't" ...)."""
    return token.lower in NEGATION_CUES or token.lower.endswith("n't")


def has_negation(toks: list[Token]) -> bool:
    """True when any word of `toks` is a negation cue."""
    return any(is_cue(t) for t in toks)


def negation_scope_end(text: str, start: int, offset: int = 0) -> int:
    """Where the negation starting at `start` stops: the end of its phrase or list.

    "We do not serve wagyu beef, sushi or raw fish." negates the whole list; "lobster tail,
    not a whole lobster, as an upgrade" negates only "a whole lobster".
    """
    i = start - offset
    while True:
        m = _SCOPE_STOP_RE.search(text, i)
        if m is None:
            return len(text) + offset
        if m.group(0) != ",":
            return m.start() + offset
        nxt = _NEXT_WORD_RE.match(text, m.end())
        word = nxt.group(1).lower() if nxt else ""
        if not word or (word in STOPWORDS and word not in ("or", "and", "nor", "any")):
            return m.start() + offset
        i = m.end()


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text`, trimmed of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY_RE.finditer(text):
        if m.group(0)[0] != "\n" and not _ends_sentence(text, m.start(), m.end()):
            continue
        end = m.start() if m.group(0)[0] == "\n" else m.end()
        spans.append((start, end))
        start = m.end()
    spans.append((start, len(text)))
    return [s for s in (_trim(text, a, b) for a, b in spans) if s[1] > s[0]]


def _ends_sentence(text: str, at: int, after: int) -> bool:
    if text[at] != ".":
        return True
    word = re.search(r"([A-Za-z]+)$", text[max(0, at - 12) : at])
    if word is None:
        return not (at > 0 and text[at - 1].isdigit() and text[after : after + 1].isdigit())
    w = word.group(1)
    if w.lower() in _ABBREVIATIONS or (len(w) == 1 and w.isupper()):
        return False
    if after < len(text) and not text[after].isspace():
        return w[-1].islower() and text[after].isupper() and len(w) > 1
    return True


def _is_decimal_point(text: str, at: int) -> bool:
    return (
        text[at : at + 1] == "."
        and at > 0
        and text[at - 1].isdigit()
        and at + 1 < len(text)
        and text[at + 1].isdigit()
    )


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] in "-*#>•"):
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _existence() -> frozenset[str]:
    words = """available offer offered offering serve served serving provide provided carry menu
    option options allow allowed accept accepted exist exists come comes bring brings"""
    return frozenset(stem(w) for w in words.split())


EXISTENCE = _existence()
"""Verbs of having and offering: "X is not available" denies X, not availability."""
