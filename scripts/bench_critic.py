"""Benchmark the grounded critic on a JSONL file of grounded/hallucinated answer pairs.

Two shapes are read, per item: HaluEval QA (knowledge, question, right_answer,
hallucinated_answers) with the item's knowledge as evidence, and the domain shape (question,
grounded_answer, hallucinated_answer) with exactly what a live turn gets: the passages
retrieved from the demo tenant's knowledge base (embedded PostgreSQL, database triad_bench),
the business-rule facts and the computed quote's facts.

    .venv/bin/python scripts/bench_critic.py --data FILE [--json] [--limit N] [--write-docs]

With --json the last stdout line is one JSON object with n, pairwise_accuracy,
balanced_accuracy, recall, false_positive_rate, p50_ms and p95_ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import machine, replace_block
from rich.console import Console
from rich.progress import Progress

from triad.ensemble.critic import CriticConfig, GroundedCritic
from triad.settings import PROJECT_ROOT, Settings

BENCH_DATABASE = "triad_bench"
SECTION = "## Grounded critic"
SECTION_BEGIN, SECTION_END = "<!-- critic:begin -->", "<!-- critic:end -->"
LEGACY_END = re.compile(r"\n(?:## |<!-- (?!critic:))")
"""Where a critic section without its own markers ends: the next section."""
INTRO = (
    "Pairwise accuracy: the grounded answer wins its pair (a tie counts as wrong). Detection: "
    "each answer judged alone is flagged when a claim is unsupported or contradicted; balanced "
    "accuracy = (recall + 1 - false-positive rate) / 2. Latency: one `evaluate` of a pair, "
    "retrieval and model warm-up excluded. `first_half`/`second_half` split the file's items "
    "in order. Semantic `needed` (the default) embeds only claims the lexical checks cannot "
    "settle; `always` embeds every claim and both answers; `off` runs without the embedder."
)


@dataclass(frozen=True)
class Case:
    """One grounded answer against one hallucinated answer, with the evidence a turn has."""

    item: str
    question: str
    good: str
    bad: str
    evidence: tuple[str, ...]
    facts: tuple[str, ...]
    half: int


@dataclass
class Tally:
    """Counts behind the metrics of one slice of the cases."""

    pairs: int = 0
    pairs_right: int = 0
    flagged_bad: int = 0
    bad: int = 0
    flagged_good: int = 0
    good: int = 0

    def metrics(self, latencies: Sequence[float]) -> dict[str, Any]:
        recall = self.flagged_bad / self.bad if self.bad else 0.0
        fpr = self.flagged_good / self.good if self.good else 0.0
        ordered = sorted(latencies)

        def pct(p: float) -> float:
            if not ordered:
                return 0.0
            return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 3)

        return {
            "n": self.pairs,
            "pairwise_accuracy": round(self.pairs_right / self.pairs, 4) if self.pairs else 0.0,
            "balanced_accuracy": round((recall + 1 - fpr) / 2, 4),
            "recall": round(recall, 4),
            "false_positive_rate": round(fpr, 4),
            "p50_ms": pct(0.5),
            "p95_ms": pct(0.95),
        }


def load_items(path: Path, limit: int | None) -> list[dict[str, Any]]:
    """The JSONL items, optionally only the first `limit`."""
    items = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return items[:limit] if limit else items


def is_halueval(item: dict[str, Any]) -> bool:
    """HaluEval QA shape: the item brings its own knowledge."""
    return "knowledge" in item and "right_answer" in item


async def domain_context(items: list[dict[str, Any]]) -> dict[int, tuple[list[str], list[str]]]:
    """Retrieved passages and facts for every domain-shaped item, keyed by position."""
    from triad.agents.extract import extract_quote_request
    from triad.agents.quote import compute_quote
    from triad.agents.rules import load_rules
    from triad.db import migrate
    from triad.db.embedded import ensure_database
    from triad.db.session import make_engine, make_session_factory
    from triad.ensemble.config import EnsembleConfig
    from triad.errors import TriadError
    from triad.knowledge.embedding import get_embedder
    from triad.knowledge.ingest import ingest_with_settings
    from triad.knowledge.retrieval import retrieve

    settings = Settings()
    rules = load_rules(settings.tenant_dir)
    config = EnsembleConfig.from_yaml(settings.ensemble_config)  # retrieval as in a turn
    url = ensure_database(settings, BENCH_DATABASE)
    migrate.upgrade(url)
    engine = make_engine(url)
    embedder = get_embedder()
    out: dict[int, tuple[list[str], list[str]]] = {}
    progress = Progress(transient=True, console=Console(stderr=True))
    try:
        async with make_session_factory(engine)() as session:
            await ingest_with_settings(session, settings, embedder)
            todo = [i for i, item in enumerate(items) if not is_halueval(item)]
            task = progress.add_task("retrieving evidence", total=len(todo))
            progress.start()
            for i in todo:
                item = items[i]
                agent = rules.agents.get(item.get("agent", ""))
                passages = await retrieve(
                    session,
                    item["question"],
                    tenant=settings.tenant,
                    embedder=embedder,
                    sources=agent.sources if agent else None,
                    k=config.retrieval_k,
                    outside=config.retrieval_outside,
                )
                facts = list(rules.facts())
                request = extract_quote_request(item["question"], rules)
                if request is not None:
                    with contextlib.suppress(TriadError, ValueError):
                        facts += compute_quote(request, rules).facts()
                out[i] = ([p.text for p in passages], facts)
                progress.advance(task)
    finally:
        progress.stop()
        await engine.dispose()
    return out


def build_cases(items: list[dict[str, Any]]) -> list[Case]:
    """One case per (grounded, hallucinated) pair; the first half of the items is half 0."""
    needs_db = any(not is_halueval(item) for item in items)
    context = asyncio.run(domain_context(items)) if needs_db else {}
    cases = []
    for i, item in enumerate(items):
        half = 0 if i < (len(items) + 1) // 2 else 1
        name, question = str(item.get("id", i)), item["question"]
        evidence: tuple[str, ...]
        facts: tuple[str, ...]
        if is_halueval(item):
            evidence, facts = (item["knowledge"],), ()
            pairs = [(item["right_answer"], bad) for bad in item["hallucinated_answers"]]
        else:
            evidence, facts = tuple(context[i][0]), tuple(context[i][1])
            pairs = [(item["grounded_answer"], item["hallucinated_answer"])]
        for good, bad in pairs:
            cases.append(Case(name, question, good, bad, evidence, facts, half))
    return cases


def run(cases: list[Case], critic: GroundedCritic) -> dict[str, Any]:
    """Judge every pair (timed) and every distinct answer alone; metrics overall and by half."""
    tallies = [Tally(), Tally(), Tally()]
    latencies: list[list[float]] = [[], [], []]
    judged: set[tuple[str, str]] = set()
    first = cases[0]
    warm = {"teacher": first.good, "student": first.bad}
    critic.evaluate(first.question, warm, first.evidence, first.facts)
    with Progress(transient=True, console=Console(stderr=True)) as progress:
        task = progress.add_task("judging pairs", total=len(cases))
        for k, c in enumerate(cases):
            roles = ("teacher", "student") if k % 2 == 0 else ("student", "teacher")
            answers = {roles[0]: c.good, roles[1]: c.bad}
            started = time.perf_counter()
            result = critic.evaluate(c.question, answers, c.evidence, c.facts)
            elapsed = (time.perf_counter() - started) * 1000
            g, b = result.verdicts[roles[0]], result.verdicts[roles[1]]
            tie = (len(g.unsupported_claims), g.score) == (len(b.unsupported_claims), b.score)
            right = result.winner == roles[0] and not tie
            for t, lat in (
                (tallies[0], latencies[0]),
                (tallies[1 + c.half], latencies[1 + c.half]),
            ):
                t.pairs += 1
                t.pairs_right += right
                lat.append(elapsed)
            for answer, is_bad in ((c.good, False), (c.bad, True)):
                if (c.item, answer) in judged:
                    continue
                judged.add((c.item, answer))
                alone = critic.evaluate(c.question, {"answer": answer}, c.evidence, c.facts)
                flagged = bool(alone.verdicts["answer"].unsupported_claims)
                for t in (tallies[0], tallies[1 + c.half]):
                    if is_bad:
                        t.bad += 1
                        t.flagged_bad += flagged
                    else:
                        t.good += 1
                        t.flagged_good += flagged
            progress.advance(task)
    return {
        "all": tallies[0].metrics(latencies[0]),
        "first_half": tallies[1].metrics(latencies[1]),
        "second_half": tallies[2].metrics(latencies[2]),
    }


def write_section(
    doc: Path, data: str, command: str, semantic: str, report: dict[str, dict[str, Any]]
) -> None:
    """Replace this data file's block inside the critic section's markers (or add it at the
    section's end); every other line of the document stays where it was."""
    keys = list(report["all"])
    rows = [f"| slice | {' | '.join(keys)} |", "|---" * (len(keys) + 1) + "|"]
    rows += [f"| {name} | {' | '.join(str(m[k]) for k in keys)} |" for name, m in report.items()]
    begin, end = (
        f"<!-- critic:{data}:{semantic}:begin -->",
        f"<!-- critic:{data}:{semantic}:end -->",
    )
    block = "\n".join([
        begin,
        f"### {data} (semantic: {semantic})",
        "",
        f"- command: `.venv/bin/python {command}`",
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {machine()}",
        "",
        *rows,
        end,
    ])  # fmt: skip
    text = doc.read_text(encoding="utf-8") if doc.is_file() else ""
    if SECTION in text and SECTION_BEGIN not in text:
        start = text.index(SECTION)
        stop = LEGACY_END.search(text, start)
        cut = stop.start() if stop else len(text)
        legacy, rest = text[start:cut].strip("\n"), text[cut:].lstrip("\n")
        text = f"{text[:start]}{SECTION_BEGIN}\n{legacy}\n{SECTION_END}\n\n{rest}"
        doc.write_text(text, encoding="utf-8")
    body = critic_section(text)
    if begin in body and end in body:
        body = body[: body.index(begin)] + block + body[body.index(end) + len(end) :]
    else:
        body = body.rstrip("\n") + "\n\n" + block + "\n"
    body = body.strip("\n")
    section = f"{SECTION_BEGIN}\n{body}\n{SECTION_END}"
    replace_block(doc, SECTION_BEGIN, SECTION_END, section)


def critic_section(text: str) -> str:
    """The critic section's text between its markers, or a new section (one written before the
    markers existed is wrapped in them first)."""
    if SECTION_BEGIN in text and SECTION_END in text:
        return text[text.index(SECTION_BEGIN) + len(SECTION_BEGIN) : text.index(SECTION_END)]
    return f"{SECTION}\n\n{INTRO}\n"


def make_critic(semantic: str) -> GroundedCritic:
    """The critic under test, with the packaged embedder warmed up unless semantics are off."""
    if semantic == "off":
        return GroundedCritic()
    from triad.knowledge.embedding import get_embedder

    embedder = get_embedder()
    embedder.embed(["warm-up"])
    return GroundedCritic(embed=embedder.embed, config=CriticConfig(semantic_mode=semantic))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a JSONL file of either shape")
    parser.add_argument("--json", action="store_true", help="end stdout with one JSON line")
    parser.add_argument("--limit", type=int, default=None, help="only the first N items")
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    parser.add_argument("--semantic", choices=("off", "needed", "always"), default="needed",
                        help="embeddings: none, only where the lexical checks cannot decide, "
                        "or for every claim and answer")  # fmt: skip
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"no such file: {args.data}")
    items = load_items(args.data, args.limit)
    if not items:
        parser.error(f"{args.data} has no items")
    cases = build_cases(items)
    report = run(cases, make_critic(args.semantic))
    for name, metrics in report.items():
        print(f"{name:12s} " + "  ".join(f"{k}={v}" for k, v in metrics.items()))
    if args.write_docs:
        command = "scripts/bench_critic.py " + " ".join(sys.argv[1:] if argv is None else argv)
        write_section(
            PROJECT_ROOT / "docs" / "BENCHMARKS.md", args.data.name, command, args.semantic, report
        )
    if args.json:
        print(json.dumps(report["all"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
