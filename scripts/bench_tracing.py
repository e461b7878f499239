"""Turn latency with tracing off and on: what OpenTelemetry costs a customer turn.

Every question of a customer-shaped JSONL file (`{"q": ...}` per line) is asked as the first
turn of a new conversation, through the same `answer_turn` the chat API calls, on the
benchmark's own embedded PostgreSQL database (triad_bench_tracing: dropped, re-created,
migrated and given the demo tenant's knowledge). Each question is asked twice, once with
tracing off (OpenTelemetry's no-op tracer, no SQL instrumentation: what runs when
OTEL_EXPORTER_OTLP_ENDPOINT is unset) and once on (the SDK, a batch processor and the OTLP/HTTP
exporter sending to a receiver on 127.0.0.1, SQLAlchemy instrumented), alternating which goes
first. Caches are off, so both modes do the whole work.

Two rows: `scripted` models answer at once (the pipeline's own cost: retrieval, critic,
database, and the spans), `offline` uses the offline profile's real models (extractive teacher,
SmolLM2 on llama.cpp), where model time dominates.

    .venv/bin/python scripts/bench_tracing.py --data ../shared/data/eval/customer_dev.jsonl --json
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from benchlib import machine, percentile, replace_block
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from triad.conversations.service import answer_turn, create_conversation
from triad.db import migrate
from triad.db.embedded import drop_database, ensure_database
from triad.db.session import make_engine, make_session_factory
from triad.knowledge.embedding import get_embedder
from triad.knowledge.ingest import ingest_with_settings
from triad.observability import genai
from triad.observability.tracing import Tracing, configure_tracing
from triad.providers.base import Completion, CompletionRequest, Provider
from triad.runtime import Runtime, build_runtime
from triad.settings import PROJECT_ROOT, Settings

DATABASE = "triad_bench_tracing"
ANSWER = "We do not serve wagyu beef. You can choose chicken, shrimp, NY strip steak or tofu."
BEGIN, END = "<!-- tracing:begin -->", "<!-- tracing:end -->"


def load_questions(path: Path, limit: int | None) -> list[str]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [str(json.loads(line)["q"]) for line in lines]
    return questions[:limit] if limit else questions


class Instant(Provider):
    """A model that answers at once, so a row measures the pipeline, not a model."""

    kind: ClassVar[str] = "scripted"
    needs_network: ClassVar[bool] = False

    async def complete(self, request: CompletionRequest) -> Completion:
        return Completion(text=ANSWER, model="instant", provider="scripted", output_tokens=16)


class Sink:
    """An OTLP/HTTP receiver on 127.0.0.1 that decodes and counts the spans it is sent."""

    def __init__(self) -> None:
        self.spans = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                sink.spans += sum(
                    len(s.spans) for r in request.resource_spans for s in r.scope_spans
                )
                payload = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Sink:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def summary(times: Sequence[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(times, 0.5), 1),
        "p95": round(percentile(times, 0.95), 1),
        "mean": round(statistics.fmean(times), 1),
    }


async def one_turn(runtime: Runtime, factory: Any, question: str) -> float:
    async with factory() as session:
        conversation, _ = await create_conversation(
            session, tenant=runtime.settings.tenant, agent=None, customer_ref="bench"
        )
        started = time.perf_counter()
        await answer_turn(
            session,
            conversation=conversation,
            text=question,
            agent=None,
            ensemble=runtime.ensemble,
            selector=runtime.selector,
            embedder=get_embedder(),
            user_id="bench",
            lesson_limit=runtime.prompt_lessons,
        )
        return (time.perf_counter() - started) * 1000


async def measure(
    runtime: Runtime, factory: Any, engine: Any, tracing: Tracing, questions: Sequence[str]
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"off": [], "on": []}
    provider_tracer = tracing.provider.get_tracer("triad")

    def switch(on: bool) -> None:
        if on == (genai.tracer() is provider_tracer):
            return
        if on:
            genai.use_tracer(provider_tracer)
            tracing.instrument_engine(engine)
        else:
            from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

            if SQLAlchemyInstrumentor().is_instrumented_by_opentelemetry:
                SQLAlchemyInstrumentor().uninstrument()
            genai.use_tracer(None)

    switch(False)
    await one_turn(runtime, factory, questions[0])  # warm-up: models loaded, caches filled
    for n, question in enumerate(questions):
        order = ("off", "on") if n % 2 == 0 else ("on", "off")
        for mode in order:
            switch(mode == "on")
            times[mode].append(await one_turn(runtime, factory, question))
    switch(False)
    return times


def row(name: str, times: dict[str, list[float]], spans: int) -> dict[str, Any]:
    off, on = summary(times["off"]), summary(times["on"])
    turns = len(times["on"])
    paired = [b - a for a, b in zip(times["off"], times["on"], strict=True)]
    return {
        "models": name,
        "turns_per_mode": turns,
        **{f"off_{k}": v for k, v in off.items()},
        **{f"on_{k}": v for k, v in on.items()},
        "added_p50_ms": round(on["p50"] - off["p50"], 1),
        "added_mean_ms": round(on["mean"] - off["mean"], 1),
        "added_paired_median_ms": round(statistics.median(paired), 1) if paired else 0.0,
        "ratio_mean": round(on["mean"] / off["mean"], 3) if off["mean"] else None,
        "spans_per_turn": round(spans / turns, 1) if turns else 0,
    }


async def run(questions: Sequence[str], models: Sequence[str]) -> list[dict[str, Any]]:
    settings = Settings().model_copy(update={"scheduler": False})
    drop_database(settings, DATABASE)
    url = ensure_database(settings, DATABASE)
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    async with factory() as session:
        await ingest_with_settings(session, settings, get_embedder())
    rows = []
    with Sink() as sink:
        tracing = configure_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": sink.url})
        assert tracing is not None
        try:
            for name in models:
                runtime = build_runtime(settings, get_embedder())  # no guards: no caches
                if name == "scripted":
                    profile = runtime.config.active(settings.ensemble_profile)
                    runtime.use_provider(profile.teacher.model, Instant(model="instant"))
                    runtime.use_provider(profile.student.model, Instant(model="instant"))
                before = sink.spans
                try:
                    times = await measure(runtime, factory, engine, tracing, questions)
                finally:
                    await runtime.aclose()
                tracing.provider.force_flush(30_000)
                rows.append(row(name, times, sink.spans - before))
                print(json.dumps(rows[-1]), file=sys.stderr)
        finally:
            tracing.shutdown()
            await engine.dispose()
            drop_database(settings, DATABASE)
    return rows


def write_docs(rows: Sequence[dict[str, Any]], command: str, data: str) -> None:
    keys = list(rows[0])
    table = [f"| {' | '.join(keys)} |", "|---" * len(keys) + "|"]
    table += [f"| {' | '.join(str(r[k]) for k in keys)} |" for r in rows]
    block = "\n".join([
        BEGIN,
        "## Tracing off vs on",
        "",
        "Turn latency in milliseconds with OpenTelemetry off (OTEL_EXPORTER_OTLP_ENDPOINT unset:",
        "the no-op tracer, no exporter) and on (SDK, batch processor, OTLP/HTTP export to a",
        "receiver on 127.0.0.1, SQLAlchemy instrumented); each question of the file asked once",
        "in each mode as the first turn of a new conversation, alternating which mode goes",
        "first, caches off. `scripted`: teacher and student answer at once, so the row is the",
        "pipeline's own cost (retrieval, critic, database) plus the spans; `offline`: the real",
        "offline models (extractive teacher, SmolLM2-135M on llama.cpp). `added_*` = on - off",
        "per statistic; `added_paired_median_ms` = the median over questions of (on - off) for",
        "the same question, the figure least moved by SmolLM2's own variance (its answers, and",
        "so its time, differ from call to call) and by other work on a shared 2-core machine.",
        "",
        f"- command: `.venv/bin/python {command}`",
        f"- data: {data}",
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {machine()}",
        "",
        *table,
        END,
    ])  # fmt: skip
    replace_block(PROJECT_ROOT / "docs" / "BENCHMARKS.md", BEGIN, END, block)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="customer-shaped JSONL ('q')")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument(
        "--models", choices=("scripted", "offline", "both"), default="both", help="which rows"
    )
    parser.add_argument("--json", action="store_true", help="end stdout with one JSON line")
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"no such file: {args.data}")
    questions = load_questions(args.data, args.limit)
    if not questions:
        parser.error(f"{args.data} has no questions")
    models = ("scripted", "offline") if args.models == "both" else (args.models,)
    rows = asyncio.run(run(questions, models))
    for r in rows:
        print("  ".join(f"{k}={v}" for k, v in r.items()))
    if args.write_docs:
        command = "scripts/bench_tracing.py " + " ".join(sys.argv[1:] if argv is None else argv)
        write_docs(rows, command, args.data.name)
    if args.json:
        print(json.dumps({r["models"]: r for r in rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
