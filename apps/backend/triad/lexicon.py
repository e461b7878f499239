"""One word for each thing, whoever wrote it: irregular forms and the informal spellings
customers type, mapped to the word a knowledge base uses.

General English only, never a tenant's vocabulary; shared by the offline teacher's word
matching and the critic's stems, so both read "veggies", "tip" and "ppl" the same way.
"""

from __future__ import annotations

import re

CANONICAL: dict[str, str] = {
    # irregular plurals and verb forms
    "children": "child", "people": "person", "persons": "person", "men": "man",
    "women": "woman", "paid": "pay", "ate": "eat", "eaten": "eat", "brought": "bring",
    "bought": "buy",
    # informal words and chat spellings
    "kid": "child", "kids": "child", "kiddo": "child", "kiddos": "child", "ppl": "person",
    "folks": "person", "veggie": "vegetable", "veggies": "vegetable", "tip": "gratuity",
    "tips": "gratuity", "tmrw": "tomorrow", "tmr": "tomorrow", "tomorow": "tomorrow",
    "bday": "birthday", "nite": "night", "yr": "year", "yrs": "year", "mins": "minute",
    "hrs": "hour", "hr": "hour", "appt": "appointment", "resi": "reservation",
}  # fmt: skip


_WORD = re.compile(r"[A-Za-z]+")


def normalized(text: str) -> str:
    """`text` lower-cased with every informal word replaced by its usual form ("tmrw" ->
    "tomorrow"), for parsers that look for the usual words."""
    return _WORD.sub(lambda m: CANONICAL.get(m[0].lower(), m[0].lower()), text.lower())
