"""Markdown is cut at headings, long sections at natural boundaries, with exact offsets."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from triad.errors import InvalidConfigError
from triad.knowledge.chunking import Chunk, chunk_markdown, markdown_title
from triad.settings import Settings

MENU_PATHS = [
    "Ember & Tide Hibachi — Menu",
    "Ember & Tide Hibachi — Menu > What every guest gets",
    "Ember & Tide Hibachi — Menu > Standard proteins (included in the per-guest price)",
    "Ember & Tide Hibachi — Menu > Premium protein upgrades (extra charge per plate, see pricing)",
    "Ember & Tide Hibachi — Menu > Sides and add-ons",
    "Ember & Tide Hibachi — Menu > Sauces",
    "Ember & Tide Hibachi — Menu > Not on the menu",
    "Ember & Tide Hibachi — Menu > Dietary needs",
]


def _menu(settings: Settings) -> str:
    return (settings.knowledge_dir / "menu.md").read_text(encoding="utf-8")


def _assert_exact_slices(text: str, chunks: list[Chunk]) -> None:
    for chunk in chunks:
        assert text[chunk.char_start : chunk.char_end] == chunk.content


def test_every_heading_section_is_its_own_chunk_with_its_path(settings: Settings) -> None:
    text = _menu(settings)
    chunks = chunk_markdown(text, source="menu.md")
    assert [c.heading_path for c in chunks] == MENU_PATHS
    assert [c.ordinal for c in chunks] == list(range(len(MENU_PATHS)))
    assert {c.source for c in chunks} == {"menu.md"}
    assert chunks[6].content == (
        "We do not serve wagyu beef, sushi, sashimi, raw fish, or alcohol. "
        "We do not provide dessert."
    )
    assert all("#" not in c.content for c in chunks)
    _assert_exact_slices(text, chunks)


def test_list_items_stay_with_their_section(settings: Settings) -> None:
    chunks = chunk_markdown(_menu(settings), source="menu.md")
    proteins = chunks[2]
    for item in ("Chicken", "Shrimp", "NY strip steak", "Salmon", "Tofu"):
        assert f"- {item}" in proteins.content
    assert proteins.metadata == {
        "source": "menu.md",
        "heading_path": MENU_PATHS[2],
        "part": 1,
        "parts": 1,
    }


def test_nested_headings_preamble_and_code_fences() -> None:
    text = (
        "Intro before any heading.\n\n"
        "# Guide\n\n## Setup\n### Grill\nLight it.\n\n"
        "```\n# not a heading\n```\n\n"
        "## Cleanup ##\nScrape it.\n#hashtag is text\n\n## Empty\n\n###### Deep\nDeep text.\n"
    )
    chunks = chunk_markdown(text, source="guide.md")
    assert [(c.heading_path, c.content) for c in chunks] == [
        ("", "Intro before any heading."),
        ("Guide > Setup > Grill", "Light it.\n\n```\n# not a heading\n```"),
        ("Guide > Cleanup", "Scrape it.\n#hashtag is text"),
        ("Guide > Empty > Deep", "Deep text."),
    ]
    _assert_exact_slices(text, chunks)
    assert (
        chunks[1].embedding_text == "Guide > Setup > Grill\nLight it.\n\n```\n# not a heading\n```"
    )


def test_long_section_is_split_with_overlap_inside_the_limit() -> None:
    sentences = " ".join(
        f"Sentence number {i} talks about grill safety rule {i}." for i in range(40)
    )
    text = f"# Safety\n\n{sentences}\n\n# Next\nShort.\n"
    chunks = chunk_markdown(text, source="safety.md", chunk_size=200, chunk_overlap=60)
    safety = [c for c in chunks if c.heading_path == "Safety"]
    assert len(safety) > 5
    assert chunks[-1].heading_path == "Next"
    assert [c.part for c in safety] == list(range(1, len(safety) + 1))
    assert {c.parts for c in safety} == {len(safety)}
    _assert_exact_slices(text, chunks)
    for previous, current in itertools.pairwise(safety):
        assert len(current.content) <= 200
        overlap = previous.char_end - current.char_start
        assert 0 < overlap <= 60
        assert text[current.char_start - 1].isspace()
    assert safety[0].char_start == text.index("Sentence number 0")
    assert safety[-1].char_end == text.index("Sentence number 39") + len(
        "Sentence number 39 talks about grill safety rule 39."
    )
    assert all(c.content.endswith(".") for c in safety)


def test_long_section_prefers_paragraph_boundaries() -> None:
    paragraphs = [f"Paragraph {i}. " + "word " * 30 for i in range(4)]
    text = "## Rules\n" + "\n\n".join(p.strip() for p in paragraphs)
    chunks = chunk_markdown(text, source="rules.md", chunk_size=400, chunk_overlap=0)
    assert [c.content.split(".")[0] for c in chunks] == ["Paragraph 0", "Paragraph 2"]
    assert chunks[0].content.endswith("word") and "\n\nParagraph 1." in chunks[0].content


def test_word_longer_than_the_limit_is_cut_hard() -> None:
    text = "# Hash\n" + "a" * 250
    chunks = chunk_markdown(text, source="hash.md", chunk_size=100, chunk_overlap=10)
    assert [len(c.content) for c in chunks] == [100, 100, 50]
    assert "".join(c.content for c in chunks) == "a" * 250


def test_chunking_is_deterministic(settings: Settings) -> None:
    for path in sorted(Path(settings.knowledge_dir).glob("*.md")):
        text = path.read_text(encoding="utf-8")
        first = chunk_markdown(text, source=path.name, chunk_size=150, chunk_overlap=40)
        assert first == chunk_markdown(text, source=path.name, chunk_size=150, chunk_overlap=40)
        assert all(len(c.content) <= 150 for c in first)
        _assert_exact_slices(text, first)


@pytest.mark.parametrize(
    ("size", "overlap", "message"),
    [
        (100, 100, "must be smaller than chunk_size"),
        (100, 150, "must be smaller than chunk_size"),
        (100, -1, "must not be negative"),
        (0, 0, "at least 1"),
    ],
)
def test_bad_options_are_refused(size: int, overlap: int, message: str) -> None:
    with pytest.raises(InvalidConfigError, match=message):
        chunk_markdown("# A\ntext", source="a.md", chunk_size=size, chunk_overlap=overlap)


def test_title_is_the_first_top_level_heading() -> None:
    assert markdown_title("## Sub\n# Main\n") == "Main"
    assert markdown_title("intro\n### Only sub\n") == "Only sub"
    assert markdown_title("no headings at all") is None
