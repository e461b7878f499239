"""The chaos benchmark's figures and docs section, without an app or a database."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_chaos import BEGIN, END, Arm, figures, write_docs

from tests.support.chaos import ChaosServer


def arm() -> Arm:
    server = ChaosServer(fault_rate=0.5)
    server.faults.update({"none": 6, "hang": 2, "http_500": 2})
    done = Arm("faults", server)
    done.turns = [
        (200, "answered", 100.0, 1),
        (200, "pending_staff", 300.0, 2),
        (200, "answered_pending_review", 200.0, 3),
        (503, None, 50.0, None),
    ]
    return done


def test_figures_count_held_turns_5xx_and_faults() -> None:
    got = figures(arm())
    assert (got["turns"], got["held"], got["held_share"]) == (4, 1, 0.25)
    assert (got["pending_review"], got["http_5xx"], got["http_other"]) == (1, 1, 0)
    assert got["p95_ms"] == 300.0, "latency of the answered requests only"
    assert got["provider_calls"] == 10 and got["faults"] == {"hang": 2, "http_500": 2}


def test_the_section_replaces_only_its_own_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bench_chaos

    (tmp_path / "docs").mkdir()
    doc = tmp_path / "docs" / "BENCHMARKS.md"
    doc.write_text(f"# Benchmarks\n\nkept above\n\n{BEGIN}\nold figures\n{END}\n\nkept below\n")
    monkeypatch.setattr(bench_chaos, "PROJECT_ROOT", tmp_path)
    summary = {
        "data": "q.jsonl",
        "questions": 3,
        "fault_rate": 0.3,
        "retry_after_s": 1.0,
        "role_timeout_s": 10.0,
        "concurrency": 8,
        "block_turns": 40,
        "arms": {"faults": {**figures(arm()), "failed_roles": 1, "failed_roles_timeout": 0,
                            "breaker_skips": 0}},
    }  # fmt: skip
    write_docs(summary, "scripts/bench_chaos.py q.jsonl --write-docs")
    text = doc.read_text()
    assert "old figures" not in text and "kept above" in text and "kept below" in text
    assert text.count(BEGIN) == 1 and "| faults | 4 | 1 | 0.25 |" in text
    assert "`.venv/bin/python scripts/bench_chaos.py q.jsonl --write-docs`" in text
