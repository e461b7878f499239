"""What every benchmark shares: the machine it ran on, percentiles, its block of BENCHMARKS.md."""

from __future__ import annotations

import math
import os
import platform
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def machine() -> str:
    """nproc, CPU model and Python version: what the latencies depend on."""
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        m = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        cpu = m.group(1).strip() if m else cpu
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"nproc {cores}, {cpu}, Python {platform.python_version()}"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (`q` in 0..1), so the figure is a latency that was measured."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def replace_block(doc: Path, begin: str, end: str, block: str) -> None:
    """Put `block` (which starts with `begin` and ends with `end`) where the old one was, or
    append it; every other line of the document stays as it is."""
    text = doc.read_text(encoding="utf-8") if doc.is_file() else "# Benchmarks\n"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def fresh_database(settings: Any, name: str) -> str:
    """Drop and re-create the benchmark's own database and migrate it, as the test suite does;
    its URL."""
    from triad.db import migrate
    from triad.db.embedded import drop_database, ensure_database

    drop_database(settings, name)
    url = ensure_database(settings, name)
    migrate.upgrade(url)
    return url


async def ingest_knowledge(settings: Any, url: str) -> None:
    """The tenant's knowledge base into the database at `url`, as `triad serve` ingests it."""
    from triad.db.session import make_engine, make_session_factory
    from triad.knowledge.embedding import get_embedder
    from triad.knowledge.ingest import ingest_with_settings

    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            await ingest_with_settings(session, settings, get_embedder())
    finally:
        await engine.dispose()
