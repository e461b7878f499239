"""Scrub personal data from exported conversations: emails, phones, street addresses, names.

Regexes catch the shapes (an email, a phone number, a house number followed by a street
suffix). Names have no shape, so they are learned from what the customer said in the
conversation ("my name is Sarah Lee", "I'm John", "call me Ann") and then replaced everywhere
in that conversation's texts, the replies included. It errs towards scrubbing too much.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE = re.compile(
    r"(?<![\w$])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]?\d{4}(?!\w)"
    r"|(?<![\w$])\+\d[\d\s.-]{8,14}\d(?!\w)"
    r"|(?<![\w$.])\d{10}(?![\w.])"
)
_SUFFIXES = (
    "street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|"
    "terrace|ter|parkway|pkwy|circle|cir|highway|hwy|square|sq|trail|trl"
)
_NOT_STREET = "the|a|an|on|to|in|at|of|for|and|by|with|from|guests|people|adults|kids|children"
ADDRESS = re.compile(
    rf"\b\d{{1,6}}(?:\s+(?!(?:{_NOT_STREET})\b)[A-Za-z0-9.'-]+){{1,4}}?\s+(?:{_SUFFIXES})\b\.?"
    r"(?:,?\s*(?:apt|apartment|suite|ste|unit|#)\.?\s*#?\w+)?",
    re.IGNORECASE,
)
_NAME_WORD = r"[A-Za-z][A-Za-z'-]*"
_CAPITAL_WORD = r"[A-Z][A-Za-z'-]*"
# "my name is sarah lee" may be typed in lower case; "I'm" needs capitals ("I'm looking...").
NAME_SAID = re.compile(
    rf"\b(?:my name is|my name's|name's|call me)\s+({_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})",
    re.IGNORECASE,
)
NAME_INTRO = re.compile(
    rf"\b(?:[Ii]'m|[Ii] am|[Tt]his is|[Ii]t's)\s+({_CAPITAL_WORD}(?:\s+{_CAPITAL_WORD}){{0,2}})"
)
_NOT_NAME_WORDS = (
    "a an the and or but so just also not no yes here there from with at in on for to of",
    "i me my we our you your it is am are was this that looking interested planning hoping",
    "wondering trying going calling writing asking hosting having getting sorry glad happy",
    "sure fine good great okay ok hi hello hey thanks thank please vegan vegetarian allergic",
    "available free new back ready done still very really",
)
NOT_NAMES = frozenset(word for line in _NOT_NAME_WORDS for word in line.split())


def names_in(texts: Iterable[str]) -> list[str]:
    """Names people gave for themselves, longest first (so "Sarah Lee" goes before "Sarah")."""
    found: set[str] = set()
    for text in texts:
        for pattern in (NAME_SAID, NAME_INTRO):
            for match in pattern.finditer(text):
                words: list[str] = []
                for word in match.group(1).split():
                    if word.lower() in NOT_NAMES:
                        break
                    words.append(word)
                if words:
                    found.add(" ".join(words))
                    found.update(w for w in words if len(w) > 1)
    return sorted(found, key=lambda n: (-len(n), n.lower()))


def scrub(text: str, names: Iterable[str] = ()) -> str:
    """`text` with emails, phones, addresses and the given names replaced by placeholders."""
    text = EMAIL.sub("[EMAIL]", text)
    text = ADDRESS.sub("[ADDRESS]", text)
    text = PHONE.sub("[PHONE]", text)
    for name in names:
        text = re.sub(rf"(?<![\w\[]){re.escape(name)}(?![\w\]])", "[NAME]", text, flags=re.I)
    return text


class Scrubber:
    """The scrubber of one conversation: learns its names once, applies them to every text."""

    def __init__(self, said: Iterable[str]) -> None:
        self.names = names_in(said)

    def __call__(self, text: str) -> str:
        return scrub(text, self.names)
