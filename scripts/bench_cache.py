"""Benchmark the semantic turn cache on paraphrased domain questions: hit and wrong-hit rates.

Each item of the JSONL file is one customer question of the demo tenant with two paraphrases
(that must get the same answer) and one or two near misses (similar wording, different answer).
Every item's question is stored first, with the answer `ANSWER <id>`, through the real
`TurnCache` scope (tenant, agent, business-rule facts, normalised question, one prompt and one
knowledge version) in its own embedded PostgreSQL database (triad_bench_cache, cache tables
emptied at the start). Then every paraphrase and near miss is looked up with `CacheStore.find`
at each threshold. A paraphrase hit is correct when it returns its own item's answer; a near
miss that hits anything, or a paraphrase that hits another item's answer, is a wrong hit.

    .venv/bin/python scripts/bench_cache.py [--data FILE] [--threshold T ...] [--json]
        [--write-docs]

With --json the last stdout line is one JSON object: {"n_items", "thresholds": [...]}.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib import machine, replace_block

from triad.settings import PROJECT_ROOT, Settings

BENCH_DATABASE = "triad_bench_cache"
DEFAULT_DATA = PROJECT_ROOT / "scripts" / "data" / "cache_paraphrases.jsonl"
DEFAULT_THRESHOLDS = (0.85, 0.90, 0.95)
PROMPT_VERSION = "bench-cache-v1"
KNOWLEDGE_VERSION = 1
BEGIN, END = "<!-- cache:begin -->", "<!-- cache:end -->"
SECTION = "## Semantic cache"
INTRO = (
    "The turn cache (`triad.routing.turn_cache.TurnCache` over `CacheStore`) on hand-written "
    "questions for the demo tenant: each item's question is stored with a synthetic answer "
    "under its agent's scope (one prompt and one knowledge version), then each paraphrase "
    "(same answer expected) and each near miss (similar wording, different answer: another "
    "city, item, diet, number of guests, cancel vs reschedule) is looked up. `paraphrase_hit_"
    "rate` = paraphrases that got their own item's answer / paraphrase lookups; `wrong_hit_"
    "rate` = wrong hits / near-miss lookups, where a wrong hit is a near miss that hit any "
    "entry; `wrong_hits` also counts paraphrases that got another item's answer "
    "(`cross_item_hits`). Latency: one `find` (embedding the question + exact and semantic "
    "queries), model warm-up excluded. The store enforces that a semantic hit carries the "
    "same numbers as the stored question, so near misses that only change a number never "
    "hit (`near_misses_number_guarded` of them). Booking items are included although "
    "`config/cache.yaml` turns the booking agent's cache off (TTL 0); here every agent is "
    "cached to measure the matching itself."
)


@dataclass(frozen=True)
class Item:
    id: str
    agent: str
    question: str
    paraphrases: tuple[str, ...]
    near_misses: tuple[str, ...]


@dataclass
class Tally:
    """Counts behind one threshold's row."""

    threshold: float
    paraphrases: int = 0
    correct: int = 0
    exact_hits: int = 0
    cross_item: int = 0
    near_misses: int = 0
    near_miss_hits: int = 0
    latencies: list[float] = field(default_factory=list)
    wrong: list[dict[str, Any]] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float:
            if not ordered:
                return 0.0
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 3)

        wrong = self.near_miss_hits + self.cross_item
        return {
            "threshold": self.threshold,
            "paraphrases": self.paraphrases,
            "paraphrase_hit_rate": round(self.correct / self.paraphrases, 4)
            if self.paraphrases
            else 0.0,
            "near_misses": self.near_misses,
            "wrong_hit_rate": round(self.near_miss_hits / self.near_misses, 4)
            if self.near_misses
            else 0.0,
            "wrong_hits": wrong,
            "cross_item_hits": self.cross_item,
            "exact_hits": self.exact_hits,
            "p50_ms": pct(0.5),
            "p95_ms": pct(0.95),
        }


def load_items(path: Path) -> list[Item]:
    """The JSONL items; every item needs an id, agent, question and both lists."""
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        items.append(
            Item(
                id=str(raw["id"]),
                agent=str(raw["agent"]),
                question=str(raw["question"]),
                paraphrases=tuple(str(p) for p in raw["paraphrases"]),
                near_misses=tuple(str(n) for n in raw.get("near_misses", [])),
            )
        )
    return items


def answer_of(item: Item) -> str:
    return f"ANSWER {item.id}"


async def run(items: list[Item], thresholds: Sequence[float]) -> dict[str, Any]:
    """Store every question once, then look up every paraphrase and near miss per threshold."""
    from sqlalchemy import delete

    from triad.agents.rules import load_rules
    from triad.db import migrate
    from triad.db.embedded import ensure_database
    from triad.db.models import CacheEntry, CacheHit
    from triad.db.session import make_engine, make_session_factory
    from triad.knowledge.embedding import get_embedder
    from triad.routing.cache import CacheConfig, CacheScope, CacheStore, numbers_in
    from triad.routing.turn_cache import TurnCache

    settings = Settings()
    rules = load_rules(settings.tenant_dir)
    facts = list(rules.facts())
    base = CacheConfig.from_yaml(settings.cache_config)
    # Every agent cached (booking is TTL 0 in production): this measures the matching.
    base = base.model_copy(
        update={"enabled": True, "semantic": True, "ttl_seconds": {"default": 86_400}}
    )
    url = ensure_database(settings, BENCH_DATABASE)
    migrate.upgrade(url)
    engine = make_engine(url)
    embedder = get_embedder()
    await embedder.aembed(["warm-up"])

    def scope(cache: TurnCache, agent: str, question: str) -> CacheScope:
        made = cache.scope_for(
            tenant=settings.tenant,
            agent=agent,
            question=question,
            prompt_version=PROMPT_VERSION,
            knowledge_version=KNOWLEDGE_VERSION,
            facts=facts,
        )
        if made is None:
            raise RuntimeError(f"agent {agent!r} is not cached")
        return made

    tallies: list[Tally] = []
    nearest: dict[str, list[float]] = {"paraphrase": [], "near_miss": []}
    try:
        async with make_session_factory(engine)() as session:
            await session.execute(delete(CacheHit))
            await session.execute(delete(CacheEntry))
            writer = TurnCache(CacheStore(base, embedder))
            for item in items:
                await writer.store_reply(
                    session,
                    scope(writer, item.agent, item.question),
                    reply=answer_of(item),
                    model_id="bench:synthetic",
                    winner="teacher",
                    consensus=1.0,
                    passage_ids=[],
                    cost_usd=0.0,
                    input_tokens=None,
                    output_tokens=None,
                    message_id=0,
                )
            await session.commit()
            # Nearest entry (same scope, versions and numbers) whatever its similarity, and an
            # untimed first query so connection and thread-pool start-up stay out of latency.
            probe = TurnCache(CacheStore(base.model_copy(update={"threshold": 1e-9}), embedder))
            for item in items:
                for question, key in [(q, "paraphrase") for q in item.paraphrases] + [
                    (q, "near_miss") for q in item.near_misses
                ]:
                    near = await probe.lookup(session, scope(probe, item.agent, question))
                    nearest[key].append(near.found.similarity if near is not None else 0.0)
            for threshold in thresholds:
                config = base.model_copy(update={"threshold": threshold})
                cache = TurnCache(CacheStore(config, embedder))
                tally = Tally(threshold)
                for item in items:
                    lookups = [(q, True) for q in item.paraphrases]
                    lookups += [(q, False) for q in item.near_misses]
                    for question, is_paraphrase in lookups:
                        s = scope(cache, item.agent, question)
                        started = time.perf_counter()
                        hit = await cache.lookup(session, s)
                        tally.latencies.append((time.perf_counter() - started) * 1000)
                        if is_paraphrase:
                            tally.paraphrases += 1
                        else:
                            tally.near_misses += 1
                        if hit is None:
                            if is_paraphrase:
                                tally.missed.append(f"{item.id}: {question}")
                            continue
                        own = hit.reply == answer_of(item)
                        if is_paraphrase and own:
                            tally.correct += 1
                            tally.exact_hits += hit.found.kind == "exact"
                            continue
                        if is_paraphrase:
                            tally.cross_item += 1
                        else:
                            tally.near_miss_hits += 1
                        tally.wrong.append({
                            "item": item.id,
                            "lookup": "paraphrase" if is_paraphrase else "near_miss",
                            "question": question,
                            "matched": hit.found.entry.question,
                            "answer": hit.reply,
                            "kind": hit.found.kind,
                            "similarity": round(hit.found.similarity, 4),
                        })  # fmt: skip
                tallies.append(tally)
            await session.rollback()
    finally:
        await engine.dispose()
    guarded = sum(
        numbers_in(n.casefold()) != numbers_in(i.question.casefold())
        for i in items
        for n in i.near_misses
    )
    return {
        "n_items": len(items),
        "near_misses_number_guarded": guarded,
        "nearest_similarity_median": {
            k: round(statistics.median(v), 4) if v else 0.0 for k, v in nearest.items()
        },
        "thresholds": [t.row() for t in tallies],
        "wrong": {str(t.threshold): t.wrong for t in tallies},
        "missed": {str(t.threshold): t.missed for t in tallies},
    }


def write_section(doc: Path, command: str, report: dict[str, Any]) -> None:
    """Replace the text between the cache markers (or append it); every other line stays."""
    rows_in: list[dict[str, Any]] = report["thresholds"]
    keys = list(rows_in[0])
    rows = [f"| {' | '.join(keys)} |", "|---" * len(keys) + "|"]
    rows += [f"| {' | '.join(str(r[k]) for k in keys)} |" for r in rows_in]
    wrong_lines = []
    for threshold, wrong in report["wrong"].items():
        for w in wrong:
            wrong_lines.append(
                f'- {threshold}: {w["lookup"]} "{w["question"]}" hit "{w["matched"]}" '
                f"({w['kind']} {w['similarity']})"
            )
    block = "\n".join([
        BEGIN,
        SECTION,
        "",
        INTRO,
        "",
        f"- command: `.venv/bin/python {command}`",
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {machine()}",
        f"- items: {report['n_items']}; near misses that change a number (never hit by "
        f"construction): {report['near_misses_number_guarded']}",
        "- median similarity to the nearest stored question (same scope and numbers, no "
        f"threshold): paraphrases {report['nearest_similarity_median']['paraphrase']}, "
        f"near misses {report['nearest_similarity_median']['near_miss']}",
        "",
        *rows,
        "",
        "Wrong hits:" if wrong_lines else "Wrong hits: none.",
        *(["", *wrong_lines] if wrong_lines else []),
        END,
    ])  # fmt: skip
    replace_block(doc, BEGIN, END, block)


def relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the paraphrase JSONL")
    parser.add_argument(
        "--threshold",
        type=float,
        action="append",
        default=None,
        help="a similarity threshold (repeatable); default 0.85 0.90 0.95",
    )
    parser.add_argument("--json", action="store_true", help="end stdout with one JSON line")
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"no such file: {args.data}")
    thresholds = args.threshold or list(DEFAULT_THRESHOLDS)
    if any(not 0.0 < t <= 1.0 for t in thresholds):
        parser.error("thresholds must be in (0, 1]")
    items = load_items(args.data)
    if not items:
        parser.error(f"{args.data} has no items")
    report = asyncio.run(run(items, thresholds))
    for row in report["thresholds"]:
        print("  ".join(f"{k}={v}" for k, v in row.items()))
    for threshold, wrong in report["wrong"].items():
        for w in wrong:
            print(f"wrong hit @{threshold}: {json.dumps(w)}", file=sys.stderr)
    for threshold, missed in report["missed"].items():
        for m in missed:
            print(f"missed paraphrase @{threshold}: {m}", file=sys.stderr)
    if args.write_docs:
        parts = ["scripts/bench_cache.py"]
        if args.data != DEFAULT_DATA:
            parts += ["--data", relative(args.data)]
        if args.threshold:
            parts += [f"--threshold {t}" for t in args.threshold]
        parts += ["--json"] * args.json + ["--write-docs"]
        write_section(PROJECT_ROOT / "docs" / "BENCHMARKS.md", " ".join(parts), report)
    if args.json:
        keys = ("n_items", "near_misses_number_guarded", "nearest_similarity_median", "thresholds")
        print(json.dumps({k: report[k] for k in keys}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
