"""Scrub personal data from exported conversations: emails, phones, street addresses, names.

Regexes catch the shapes (an email, a phone number, a house number followed by a street
suffix). Names have no shape, so they are learned from what the customer said in the
conversation ("my name is Sarah Lee", "i'm john", "name: Ann Fox", "This is Dr. Smith") and
then replaced everywhere in that conversation's texts, the replies included. Day and month
names and common words after an intro ("It's Tuesday", "I'm starving") are not names. It errs
towards scrubbing too much.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE = re.compile(
    r"(?<![\w$])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]?\d{4}(?!\w)"
    r"|(?<![\w$])\+\d[\d\s.-]{8,14}\d(?!\w)"
    r"|(?<![\w$.])\d{10}(?![\w.])"
    # a local number without its area code: 555-0199, 555.0199
    r"|(?<![\w$.,/:-])\d{3}[.-]\d{4}(?![\w-]|[.,/:]\d)"
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
# "Dr. Smith": the title is dropped, the name after it kept.
_TITLE = r"(?:(?:dr|mr|mrs|ms|mx|miss|prof|rev|sir)\.?\s+)?"
# "my name is sarah lee", "name: John Smith", "call me Ann".
NAME_SAID = re.compile(
    rf"(?:\b(?:my name is|my name's|name's|call me)\s+|\bname\s*:\s*)"
    rf"{_TITLE}({_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})",
    re.IGNORECASE,
)
# "I'm John", "i'm sarah lee", "This is Dr. Smith": words that are not names stop it.
NAME_INTRO = re.compile(
    rf"\b(?:i'm|i am|this is|it's)\s+{_TITLE}({_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})",
    re.IGNORECASE,
)
_NOT_NAME_WORDS = (
    "a an the and or but so just also not no yes here there from with at in on for to of",
    "i me my we our you your it is am are was this that looking interested planning hoping",
    "wondering trying going calling writing asking hosting having getting sorry glad happy",
    "sure fine good great okay ok hi hello hey thanks thank please vegan vegetarian allergic",
    "available free new back ready done still very really",
    "about after all almost already always an any anyone as away because before being both",
    "by can could did do does each either even ever every few for how if into its itself",
    "like many maybe me more most much must never next now off once one only other our out",
    "over own same she he her him his should some such than then these they those through",
    "too two under until up us what when where which while who whom why will would yet",
    "today tomorrow tonight yesterday now soon later early late noon midnight morning",
    "afternoon evening night week weekend month year time day",
    "monday tuesday wednesday thursday friday saturday sunday",
    "january february march april may june july august september october november december",
    "hungry thirsty excited curious sick tired busy pregnant celiac diabetic gluten lactose",
    "urgent important serious worried confused concerned disappointed upset angry unhappy",
    "impossible possible true false right wrong correct incorrect same different weird",
    "regarding re following calling emailing texting contacting reaching checking",
    "really actually currently finally likely lovely lonely early friendly only",
    "bad nice awesome amazing perfect wonderful terrible horrible late closed open",
    "customer guest client host manager owner organiser organizer planner caterer chef",
    "bride groom mom mum dad mother father wife husband son daughter friend",
    "ordering booking reserving confirming cancelling canceling",
)
NOT_NAMES = frozenset(word for line in _NOT_NAME_WORDS for word in line.split())
# Endings of lower-case adjectives and participles ("i'm starving", "this is urgent"); a
# capitalised word after an intro is taken for a name unless it is in NOT_NAMES.
_NOT_NAME_ENDINGS = ("ing", "ed", "ous", "ful", "ive", "able", "ible", "less")


def _not_a_name(word: str) -> bool:
    lower = word.lower()
    if lower in NOT_NAMES:
        return True
    return word.islower() and len(lower) > 5 and lower.endswith(_NOT_NAME_ENDINGS)


def names_in(texts: Iterable[str]) -> list[str]:
    """Names people gave for themselves, longest first (so "Sarah Lee" goes before "Sarah")."""
    found: set[str] = set()
    for text in texts:
        for pattern in (NAME_SAID, NAME_INTRO):
            for match in pattern.finditer(text):
                words: list[str] = []
                for word in match.group(1).split():
                    if _not_a_name(word):
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
