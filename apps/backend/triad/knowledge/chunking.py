"""Structure-aware markdown chunking, so every passage a model is grounded on is one section.

Each heading's section becomes its own chunk (tiny sections are never merged across headings,
because a precise passage is what the critic checks claims against). A section longer than
`chunk_size` characters is split on paragraph, then line (list item), then sentence, then word
boundaries, and consecutive parts share up to `chunk_overlap` characters. A chunk's `content` is
always the exact slice `text[char_start:char_end]` of the source, without its heading line; the
heading path ("Title > Section > Sub") travels next to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from triad.errors import InvalidConfigError

HEADING_SEPARATOR = " > "

_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SEPARATORS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\n[ \t]*\n\s*"),  # paragraphs
    re.compile(r"\n\s*"),  # lines: list items, table rows
    re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"')\]])\s+"),  # sentences
    re.compile(r"\s+"),  # words
)


@dataclass(frozen=True, slots=True)
class Chunk:
    """One passage of a markdown file, with where it came from."""

    ordinal: int
    heading_path: str
    content: str
    char_start: int
    char_end: int
    source: str
    part: int = 1
    parts: int = 1

    @property
    def embedding_text(self) -> str:
        """The text to embed: the heading path gives short passages their topic."""
        return f"{self.heading_path}\n{self.content}" if self.heading_path else self.content

    @property
    def metadata(self) -> dict[str, Any]:
        """What is stored in the chunk's `metadata` column."""
        return {
            "source": self.source,
            "heading_path": self.heading_path,
            "part": self.part,
            "parts": self.parts,
        }


@dataclass(frozen=True, slots=True)
class _Section:
    heading_path: str
    start: int
    end: int


def validate_options(chunk_size: int, chunk_overlap: int) -> None:
    """Reject sizes that cannot produce progress, before any work is done."""
    if chunk_size < 1:
        raise InvalidConfigError(f"chunk_size must be at least 1 character, got {chunk_size}")
    if chunk_overlap < 0:
        raise InvalidConfigError(f"chunk_overlap must not be negative, got {chunk_overlap}")
    if chunk_overlap >= chunk_size:
        raise InvalidConfigError(
            f"chunk_overlap ({chunk_overlap}) must be smaller than chunk_size ({chunk_size})"
        )


def markdown_title(text: str) -> str | None:
    """The first level-1 heading, else the first heading of any level, else None."""
    titles = [(level, title) for level, title, _, _ in _headings(text) if title]
    return next((t for level, t in titles if level == 1), titles[0][1] if titles else None)


def chunk_markdown(
    text: str, *, source: str, chunk_size: int = 900, chunk_overlap: int = 120
) -> list[Chunk]:
    """Split a markdown document into ordered chunks, one or more per heading section."""
    validate_options(chunk_size, chunk_overlap)
    chunks: list[Chunk] = []
    for section in _sections(text):
        start, end = _strip(text, section.start, section.end)
        if start >= end:
            continue
        windows = _windows(text, start, end, chunk_size, chunk_overlap)
        for part, (w_start, w_end) in enumerate(windows, start=1):
            chunks.append(
                Chunk(
                    ordinal=len(chunks),
                    heading_path=section.heading_path,
                    content=text[w_start:w_end],
                    char_start=w_start,
                    char_end=w_end,
                    source=source,
                    part=part,
                    parts=len(windows),
                )
            )
    return chunks


def _headings(text: str) -> Iterator[tuple[int, str, int, int]]:
    """(level, title, line start, line end) of every ATX heading outside fenced code."""
    fence: str | None = None
    offset = 0
    for line in text.splitlines(keepends=True):
        start, offset = offset, offset + len(line)
        body = line.rstrip("\r\n")
        fence_match = _FENCE.match(body)
        if fence_match:
            marker = fence_match.group(1)
            if fence is None:
                fence = marker[0] * 3
            elif marker.startswith(fence):
                fence = None
            continue
        if fence is not None:
            continue
        match = _HEADING.match(body)
        if match:
            yield len(match.group(1)), (match.group(2) or "").strip(), start, offset


def _sections(text: str) -> Iterator[_Section]:
    """The text under each heading (up to the next heading of any level) with its path."""
    stack: list[tuple[int, str]] = []
    body_start = 0
    for level, title, line_start, line_end in _headings(text):
        yield _Section(HEADING_SEPARATOR.join(t for _, t in stack if t), body_start, line_start)
        stack = [(lvl, t) for lvl, t in stack if lvl < level]
        stack.append((level, title))
        body_start = line_end
    yield _Section(HEADING_SEPARATOR.join(t for _, t in stack if t), body_start, len(text))


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _pieces(text: str, start: int, end: int, size: int, level: int = 0) -> list[tuple[int, int]]:
    """Cut [start, end) into spans of at most `size` at the coarsest boundary that works."""
    if end - start <= size:
        return [(start, end)]
    if level == len(_SEPARATORS):
        return [(i, min(i + size, end)) for i in range(start, end, size)]
    result: list[tuple[int, int]] = []
    cursor = start
    for match in [*_SEPARATORS[level].finditer(text, start, end), None]:
        span_end = match.start() if match else end
        s, e = _strip(text, cursor, span_end)
        if s < e:
            result.extend(_pieces(text, s, e, size, level + 1))
        cursor = match.end() if match else end
    return result


def _word_start(text: str, position: int, limit: int) -> int:
    """The first word start at or after `position`, but never past `limit`."""
    while position < limit and position > 0 and not text[position - 1].isspace():
        position += 1
    while position < limit and text[position].isspace():
        position += 1
    return position


def _next_start(
    text: str,
    window: tuple[int, int],
    pieces: list[tuple[int, int]],
    following: tuple[int, int],
    size: int,
    overlap: int,
) -> int:
    """Where the window after `window` starts: it repeats at most `overlap` characters (from a
    piece boundary when one is close enough, else a word boundary) and still fits `following`."""
    w_start, w_end = window
    floor = max(w_end - overlap, w_start, following[1] - size)
    if overlap == 0 or floor >= w_end:
        return following[0]
    for s, _ in pieces:
        if floor <= s < w_end:
            return s
    return _word_start(text, floor, following[0])


def _windows(text: str, start: int, end: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """Pack pieces greedily into windows of at most `size`, each starting with an overlap."""
    pieces = _pieces(text, start, end, size)
    windows: list[tuple[int, int]] = []
    index = 0
    w_start = pieces[0][0]
    while index < len(pieces):
        w_end = pieces[index][1]
        index += 1
        while index < len(pieces) and pieces[index][1] - w_start <= size:
            w_end = pieces[index][1]
            index += 1
        windows.append((w_start, w_end))
        if index < len(pieces):
            w_start = _next_start(
                text, (w_start, w_end), pieces[:index], pieces[index], size, overlap
            )
    return windows
