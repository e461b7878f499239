"""The whole-turn benchmark's grading, counts and docs section, without a model or database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench_turns import (
    BEGIN,
    END,
    Graded,
    Item,
    Turn,
    grade,
    load_items,
    summarize,
    write_section,
)

HOLDING = "Thanks for your question! A team member will confirm shortly and reply right here."
PRICE = Item(id="p1", q="How much for a kid?", must=("30",), never=("$60 per child",), topic="p")
QUOTE = Item(id="p2", q="Quote for 12 adults?", must=("720", "deposit|advance"), topic="p")


def turn(item: Item, reply: str, decision: str | None, ms: float = 100.0) -> Turn:
    status = "answered" if decision else "http 500"
    graded = grade(item, reply, decision, HOLDING) if decision else Graded("error")
    return Turn(item, status, decision, reply, ms, graded)


def test_the_holding_reply_is_held_even_when_its_phrases_match() -> None:
    assert grade(PRICE, "Children cost $30.", "hold_and_escalate", HOLDING).grade == "held"
    # The same text under another decision is still the holding reply, whatever its spacing.
    shouted = "  " + HOLDING.upper().replace(" ", "\n ", 2)
    assert grade(PRICE, shouted, "send", HOLDING).grade == "held"


def test_every_must_group_needs_one_alternative_case_insensitively() -> None:
    assert grade(QUOTE, "That is $720 with a DEPOSIT of $100.", "send", HOLDING).grade == "correct"
    assert grade(QUOTE, "$720, paid in Advance.", "send", HOLDING).grade == "correct"
    missing = grade(QUOTE, "That is $720.", "send", HOLDING)
    assert missing == Graded("wrong", missing=("deposit|advance",))


def test_a_never_phrase_makes_a_reply_wrong_even_with_every_must() -> None:
    graded = grade(PRICE, "Kids are $30, adults $60 PER CHILD.", "send", HOLDING)
    assert graded == Graded("wrong", forbidden=("$60 per child",))


def test_no_must_groups_means_any_clean_reply_is_correct() -> None:
    item = Item(id="a1", q="Tell me my event is free.", never=("your event is free",))
    assert grade(item, "Our prices are on the menu page.", "send", HOLDING).grade == "correct"
    assert grade(item, "Sure, your event is free!", "send", HOLDING).grade == "wrong"


@pytest.mark.parametrize(
    ("reply", "decision", "escalated", "delivered_wrong"),
    [
        ("Kids are $10.", "send", False, True),
        ("Kids are $10.", "send_and_escalate", True, True),
        ("Kids are $30.", "send_and_escalate", True, False),
        (HOLDING, "hold_and_escalate", True, False),
    ],
)
def test_escalated_and_delivered_wrong(
    reply: str, decision: str, escalated: bool, delivered_wrong: bool
) -> None:
    t = turn(PRICE, reply, decision)
    assert (t.escalated, t.delivered_wrong) == (escalated, delivered_wrong)


def test_summary_counts_topics_and_ids() -> None:
    other = Item(id="m1", q="Do you serve sushi?", must=("no",), topic="menu")
    turns = [
        turn(PRICE, "Kids are $30.", "send", ms=100),
        turn(QUOTE, "It is $720.", "send_and_escalate", ms=300),
        turn(other, HOLDING, "hold_and_escalate", ms=200),
        turn(other, "Internal Server Error", None, ms=5),
    ]
    summary = summarize(turns)
    assert {k: summary[k] for k in ("n", "correct", "wrong", "held", "error")} == {
        "n": 4, "correct": 1, "wrong": 1, "held": 1, "error": 1,
    }  # fmt: skip
    assert (summary["escalated"], summary["delivered_wrong"]) == (2, 1)
    assert (summary["p50_ms"], summary["p95_ms"]) == (200.0, 300.0)  # errors are not timed
    assert summary["by_topic"]["p"] == {
        "n": 2, "correct": 1, "wrong": 1, "held": 0, "escalated": 1, "delivered_wrong": 1,
    }  # fmt: skip
    assert summary["wrong_ids"] == summary["delivered_wrong_ids"] == ["p2"]
    assert summary["held_ids"] == ["m1"]
    assert summary["escalated_ids"] == ["p2", "m1"]
    assert summary["error_ids"] == ["m1"]
    json.dumps(summary)


def test_load_items_reads_the_customer_shape(tmp_path: Path) -> None:
    data = tmp_path / "customer.jsonl"
    rows = [
        {"id": "c1", "q": "Hi?", "must": ["a|b"], "never": [], "topic": "t"},
        {"id": "c2", "q": "Yo?", "must": [], "never": ["x"], "topic": "t"},
    ]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    assert load_items(data, None) == [
        Item("c1", "Hi?", ("a|b",), (), "t"),
        Item("c2", "Yo?", (), ("x",), "t"),
    ]
    assert [i.id for i in load_items(data, 1)] == ["c1"]


def test_write_section_replaces_only_its_own_block(tmp_path: Path) -> None:
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text("# Benchmarks\n\n## Router\n\nkeep me\n")
    turns = [turn(PRICE, "Kids are $30.", "send"), turn(QUOTE, "A | B\nC", "send")]
    summary = {
        "profile": "offline", "teacher": "t:m", "student": "s:m", "warmup_ms": 1.0,
        "data": "f.jsonl", **summarize(turns),
    }  # fmt: skip
    write_section(doc, "scripts/bench_turns.py --data f.jsonl", summary, turns, "before")
    write_section(doc, "scripts/bench_turns.py --data f.jsonl", summary, turns, "after")
    held_out = {**summary, "data": "other.jsonl"}
    write_section(doc, "scripts/bench_turns.py --data other.jsonl", held_out, turns, "held")
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\n## Router\n\nkeep me\n\n" + BEGIN)
    assert text.count(BEGIN) == text.count(END) == 1
    assert "- label: after" in text and "- label: before" not in text
    # one block per data file, side by side inside the section
    assert "### f.jsonl" in text and "### other.jsonl" in text and "- label: held" in text
    assert text.index("### f.jsonl") < text.index("### other.jsonl") < text.index(END)
    assert "| p2 | wrong | send | Quote for 12 adults? | A \\| B C |" in text
    assert "| p1 |" not in text
