"""The scrubber: shapes by regex, names from what the customer said, replaced everywhere."""

from __future__ import annotations

import pytest

from triad.analytics.pii import Scrubber, names_in, scrub


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail me: ann.o'neil+party@mail.example.co.uk", "mail me: [EMAIL]"),
        ("call 415-555-0199 or (415) 555 0123", "call [PHONE] or [PHONE]"),
        ("+44 20 7946 0958 works too", "[PHONE] works too"),
        ("we are at 742 evergreen terrace, Springfield", "we are at [ADDRESS], Springfield"),
        ("1600 Pennsylvania Ave NW, Suite 200", "[ADDRESS] NW, Suite 200"),
        ("Apt: 12 Baker St. Apt 3B", "Apt: [ADDRESS]"),
    ],
)
def test_shapes(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "20 guests on 2026-05-12 at 6:30 pm",
        "$1,200 total, $60 per adult, 10% gratuity",
        "a party of 15 on the way to the venue",
    ],
)
def test_what_is_not_personal_stays(text: str) -> None:
    assert scrub(text) == text


def test_names_said_are_learned_and_replaced_everywhere() -> None:
    said = ["hello, my name is sarah lee", "I'm looking for a quote", "Also I'm John, her husband"]
    assert names_in(said) == ["sarah lee", "sarah", "John", "lee"]
    scrubber = Scrubber(said)
    assert scrubber("Thanks Sarah! Lee and JOHN are welcome.") == (
        "Thanks [NAME]! [NAME] and [NAME] are welcome."
    )
    assert scrubber("I'm looking for a quote") == "I'm looking for a quote"
    assert scrubber("Kaleena called") == "Kaleena called"  # "Lee" only as a whole word
