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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my cell is 555-0199, thanks", "my cell is [PHONE], thanks"),
        ("or 555.0123 after six", "or [PHONE] after six"),
    ],
)
def test_local_numbers_without_area_code(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize("text", ["zip 94110-1234", "order 1.555-0199 and 555-01990"])
def test_longer_digit_runs_are_not_local_numbers(text: str) -> None:
    assert scrub(text) == text


@pytest.mark.parametrize(
    ("said", "names"),
    [
        ("i'm sarah lee, planning a party", ["sarah lee", "sarah", "lee"]),
        ("Name: John Smith", ["John Smith", "Smith", "John"]),
        ("name:ann fox", ["ann fox", "ann", "fox"]),
        ("This is Dr. Smith from the clinic", ["Smith"]),
        ("my name is mrs Ann Fox", ["Ann Fox", "Ann", "Fox"]),
        ("i am jared", ["jared"]),
    ],
)
def test_more_ways_to_give_a_name(said: str, names: list[str]) -> None:
    assert names_in([said]) == names


@pytest.mark.parametrize(
    "said",
    [
        "It's Tuesday, are you open?",
        "it's march already",
        "This is Urgent",
        "i'm starving",
        "i'm so excited",
        "this is great news",
        "call me tomorrow",
    ],
)
def test_days_months_and_common_words_are_not_names(said: str) -> None:
    assert names_in([said]) == []
    assert Scrubber([said])(said) == said


def test_a_titled_name_loses_its_surname() -> None:
    said = "This is Dr. Smith, please call 555-0199"
    assert Scrubber([said])(said) == "This is Dr. [NAME], please call [PHONE]"
