"""bench_critic.py --write-docs keeps its blocks inside the critic section's own markers, so
another benchmark rewriting its section never deletes them."""

from __future__ import annotations

import sys
from pathlib import Path

from triad.settings import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))

from bench_critic import SECTION_BEGIN, SECTION_END, write_section
from benchlib import replace_block

METRICS = {"n": 1, "pairwise_accuracy": 1.0}
REPORT = {"all": METRICS, "first_half": METRICS, "second_half": METRICS}
LEGACY = """# Benchmarks

## Grounded critic

Intro.

<!-- critic:a.jsonl:needed:begin -->
### a.jsonl (semantic: needed)
<!-- critic:a.jsonl:needed:end -->

<!-- router:begin -->
## Router
old router
<!-- router:end -->
"""


def test_a_new_block_lands_inside_the_critic_section_and_survives_the_router(
    tmp_path: Path,
) -> None:
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text(LEGACY, encoding="utf-8")
    write_section(doc, "b.jsonl", "cmd", "needed", REPORT)
    write_section(doc, "b.jsonl", "cmd", "off", REPORT)
    replace_block(doc, "<!-- router:begin -->", "<!-- router:end -->",
                  "<!-- router:begin -->\n## Router\nnew router\n<!-- router:end -->")  # fmt: skip
    text = doc.read_text(encoding="utf-8")
    section = text[text.index(SECTION_BEGIN) : text.index(SECTION_END)]
    for marker in ("a.jsonl:needed", "b.jsonl:needed", "b.jsonl:off"):
        assert f"<!-- critic:{marker}:end -->" in section
    assert text.index(SECTION_END) < text.index("<!-- router:begin -->")
    assert "new router" in text and "old router" not in text
    assert text.count("## Grounded critic") == 1


def test_rewriting_a_block_replaces_it_in_place(tmp_path: Path) -> None:
    doc = tmp_path / "BENCHMARKS.md"
    write_section(doc, "a.jsonl", "first", "needed", REPORT)
    write_section(doc, "a.jsonl", "second", "needed", REPORT)
    text = doc.read_text(encoding="utf-8")
    assert "second" in text and "`.venv/bin/python first`" not in text
    assert text.count("<!-- critic:a.jsonl:needed:begin -->") == 1
