"""Lessons reach every prompt, so the writer never copies a customer's personal data."""

from __future__ import annotations

import pytest

from triad.dialogue.cases import Case
from triad.dialogue.grouping import CaseGroup
from triad.dialogue.writer import Evidence, deterministic_lesson, lesson_request, scrubbed

QUESTION = (
    "Hi, I'm Sarah Lee. Can you cater 40 guests at 742 Evergreen Terrace? "
    "Call 415-555-0199 or mail sarah.lee@example.com"
)
REPLY = "Thanks Sarah! Yes, we deliver to 742 Evergreen Terrace; Lee can pay on the day."
PERSONAL = ("Sarah", "Lee", "415-555-0199", "sarah.lee@example.com", "742", "Evergreen")


def _escalated(claim: str = "") -> CaseGroup:
    case = Case(
        signal_id=1, agent="menu", kind="escalation", question=QUESTION, role="teacher",
        model="local:x", claim=claim, right_answer=REPLY, consensus=0.2,
    )  # fmt: skip
    return CaseGroup(agent="menu", cases=[case], representative=case)


def _clean(text: str) -> None:
    for item in PERSONAL:
        assert item.lower() not in text.lower(), (item, text)


def test_an_escalated_lesson_holds_no_personal_data() -> None:
    draft = deterministic_lesson(_escalated(), [], None)
    _clean(draft.title)
    _clean(draft.instruction)
    assert "[NAME]" in draft.instruction and "[ADDRESS]" in draft.instruction
    assert "cater 40 guests" in draft.instruction  # the question itself stays


def test_the_model_is_never_shown_personal_data() -> None:
    claim = "Sure Sarah, we will call 415-555-0199 tomorrow"
    request = lesson_request(_escalated(claim), ["cater"], Evidence(None, "We cater events."))
    _clean(request)
    assert "[PHONE]" in request and "[EMAIL]" in request


@pytest.mark.parametrize("claim", ["", "I'll ring Sarah at 415-555-0199"])
def test_scrubbed_group_keeps_its_shape(claim: str) -> None:
    group = scrubbed(_escalated(claim))
    assert len(group.cases) == 1 and group.representative is group.cases[0]
    case = group.representative
    for text in (case.question, case.claim, case.right_answer or ""):
        _clean(text)
    assert (case.signal_id, case.kind, case.role) == (1, "escalation", "teacher")
