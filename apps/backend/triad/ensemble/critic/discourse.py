"""What a claim does besides stating facts: courtesies, questions back, hedges, abstentions.

Only a material claim (one that states something about the business) needs evidence; "Happy
to help!", "Would you like a quote?" and "I don't have that information" state nothing a
customer could be misled by. The phrases are general English, never a tenant's words.
"""

from __future__ import annotations

import re

_NOT = (
    r"(?:do\s+not|don't|don\u2019t|cannot|can't|can\u2019t|could\s+not|couldn't|am\s+not|"
    r"'m\s+not)"
)
_ABSTAIN_RE = re.compile(
    rf"\bi\s+{_NOT}\s+(?:know|find|answer|say|confirm|tell|sure|certain|able\s+to\s+answer)\b"
    rf"|\b(?:i|we)\s+{_NOT}\s+have\s+(?:(?:any|that|this|the|enough|specific|more|such)\s+)*"
    r"(?:information|info|details|data|answer|record)"
    r"|\bno\s+(?:information|details|data|record)\s+(?:about|on|of|regarding)\b"
    r"|\bnot\s+(?:in|covered\s+(?:in|by))\s+(?:the|my|our)\s+(?:knowledge|information|records|"
    r"documents?|sources?)\b"
    r"|\b(?:unable|not\s+able)\s+to\s+(?:answer|find|say|tell|confirm)\b"
    r"|\bi'?m\s+(?:not\s+sure|unsure)\b|\bi\s+am\s+(?:not\s+sure|unsure)\b",
    re.IGNORECASE,
)
_HEDGE_RE = re.compile(
    r"^\s*(?:(?:please\s+)?(?:let\s+(?:me|us)\s+know|feel\s+free|don't\s+hesitate|reach\s+out|"
    r"contact\s+us|i(?:'d|\s+would)\s+be\s+happy|happy\s+to\s+help|glad\s+to\s+help|"
    r"hope\s+(?:this|that)\s+helps|i\s+hope|if\s+you\s+(?:have|need)\s+(?:any|more)|"
    r"(?:is\s+there\s+)?anything\s+else|enjoy|have\s+a\s+(?:great|good|nice|wonderful))"
    r"|(?:we\s+(?:look\s+forward|can't\s+wait)))\b",
    re.IGNORECASE,
)
_QUESTION_RE = re.compile(r"\?[\"'\u201d\u2019)]*\s*$")


def is_abstention(text: str) -> bool:
    """The claim says the answerer does not know or cannot answer."""
    return bool(_ABSTAIN_RE.search(text))


def is_question(text: str) -> bool:
    """A question back to the customer ("Would you like a quote?") asserts nothing."""
    return bool(_QUESTION_RE.search(text))


def is_courtesy(text: str) -> bool:
    """An offer to help, a hope or a sign-off."""
    return bool(_HEDGE_RE.match(text))
