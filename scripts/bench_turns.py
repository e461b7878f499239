"""Benchmark whole customer turns through the chat API, graded by must/never phrases.

Every question of a JSONL file (fields id, q, must, never, topic; see the shared data README)
goes through the real FastAPI app, its lifespan run, driven in-process with httpx: a fresh
chat session per question (`POST /chat/sessions`), then `POST /chat/sessions/{id}/messages`
with the session token, exactly as a customer's client would. The database is its own
embedded PostgreSQL database (triad_turns), dropped, re-created, migrated and given the
tenant's knowledge at every run, so no cached turn or lesson of an earlier run changes the
result. The configured ensemble profile answers (offline: the extractive teacher and SmolLM2).

A reply is correct when it is not held, holds one alternative of every `must` group and no
`never` phrase (case-insensitive substrings); the holding reply counts as held; any other reply
is wrong. Escalated = any decision but `send`; delivered_wrong = a wrong reply the customer got.

    .venv/bin/python scripts/bench_turns.py --data FILE [--limit N] [--out RESULTS.jsonl]
        [--json] [--write-docs] [--label TEXT]

With --json the last stdout line is one JSON object with n, correct, wrong, held, escalated,
delivered_wrong, p50_ms, p95_ms, per-topic counts and the ids behind each count. --out writes
one JSON object per question with the reply, the decision and everything the turn recorded
(candidates, the critic's claim verdicts, consensus, winner, escalation reason).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import httpx
from benchlib import fresh_database, ingest_knowledge, machine, percentile, replace_block
from rich.console import Console
from rich.progress import Progress
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from triad.db.models import Candidate, CriticEvaluation, Escalation, Message, TrainingSignal
from triad.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from triad.runtime import Runtime

TURNS_DATABASE = "triad_turns"
DELIVERED = frozenset({"send", "send_and_escalate"})
HOLD = "hold_and_escalate"
BEGIN, END = "<!-- turns:begin -->", "<!-- turns:end -->"
SECTION = "## Whole turns"
INTRO = (
    "Each question goes through `POST /chat/sessions` and `POST /chat/sessions/{id}/messages` "
    "of the real app (in-process, lifespan run, a fresh session per question) on its own "
    "database, re-created at every run (migrations + the tenant's knowledge), with the "
    "configured ensemble profile. Correct: not held, one alternative of every `must` group "
    "and no `never` phrase in the reply (case-insensitive); the holding reply counts as held; "
    "any other reply is wrong. `escalated`: any decision but `send`; `delivered_wrong`: a "
    "wrong reply the customer received (`send` or `send_and_escalate`). Latency: the message "
    "request, from the client's side; loading the local model is excluded (`warmup_ms`). "
    "The phrases are a coarse grader: read the failures."
)

Grade = Literal["correct", "wrong", "held", "error"]


@dataclass(frozen=True)
class Item:
    """One customer question and the phrases its reply is graded by."""

    id: str
    q: str
    must: tuple[str, ...] = ()
    never: tuple[str, ...] = ()
    topic: str = ""

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Item:
        return cls(
            id=str(raw["id"]),
            q=str(raw["q"]),
            must=tuple(raw.get("must") or ()),
            never=tuple(raw.get("never") or ()),
            topic=str(raw.get("topic") or ""),
        )


@dataclass(frozen=True)
class Graded:
    """A grade with its reasons, so a failure can be read without re-grading it."""

    grade: Grade
    missing: tuple[str, ...] = ()
    """`must` groups of which no alternative is in the reply."""
    forbidden: tuple[str, ...] = ()
    """`never` phrases found in the reply."""


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def grade(item: Item, reply: str, decision: str | None, holding_reply: str) -> Graded:
    """Grade one reply; the holding reply is held whatever the phrases say."""
    if decision == HOLD or (holding_reply and _same_text(reply, holding_reply)):
        return Graded("held")
    text = reply.casefold()
    missing = tuple(
        group
        for group in item.must
        if not any(alt.strip().casefold() in text for alt in group.split("|") if alt.strip())
    )
    forbidden = tuple(p for p in item.never if p.strip() and p.strip().casefold() in text)
    return Graded("wrong" if missing or forbidden else "correct", missing, forbidden)


@dataclass
class Turn:
    """One question's turn as the customer saw it, plus what the turn recorded."""

    item: Item
    status: str
    decision: str | None
    reply: str
    ms: float
    graded: Graded
    recorded: dict[str, Any] = field(default_factory=dict)

    @property
    def escalated(self) -> bool:
        return self.decision is not None and self.decision != "send"

    @property
    def delivered_wrong(self) -> bool:
        return self.graded.grade == "wrong" and self.decision in DELIVERED

    def row(self, label: str | None) -> dict[str, Any]:
        """The --out line: the item, the grade and its reasons, and the recorded turn."""
        return {
            "id": self.item.id,
            "q": self.item.q,
            "topic": self.item.topic,
            "must": list(self.item.must),
            "never": list(self.item.never),
            "label": label,
            "status": self.status,
            "decision": self.decision,
            "grade": self.graded.grade,
            "missing": list(self.graded.missing),
            "forbidden": list(self.graded.forbidden),
            "escalated": self.escalated,
            "delivered_wrong": self.delivered_wrong,
            "ms": round(self.ms, 1),
            "reply": self.reply,
            **self.recorded,
        }


def _counts(turns: Sequence[Turn]) -> dict[str, int]:
    grades = Counter(t.graded.grade for t in turns)
    counts = {"n": len(turns), **{g: grades[g] for g in ("correct", "wrong", "held")}}
    counts["escalated"] = sum(t.escalated for t in turns)
    counts["delivered_wrong"] = sum(t.delivered_wrong for t in turns)
    if grades["error"]:
        counts["error"] = grades["error"]
    return counts


def summarize(turns: Sequence[Turn]) -> dict[str, Any]:
    """Counts overall and per topic, latency percentiles, and the ids behind each count."""
    latencies = [t.ms for t in turns if t.graded.grade != "error"]
    topics = sorted({t.item.topic for t in turns})

    def ids(keep: Callable[[Turn], bool]) -> list[str]:
        return [t.item.id for t in turns if keep(t)]

    return {
        **_counts(turns),
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "cached": sum(bool(t.recorded.get("cached")) for t in turns),
        "by_topic": {tp: _counts([t for t in turns if t.item.topic == tp]) for tp in topics},
        "wrong_ids": ids(lambda t: t.graded.grade == "wrong"),
        "held_ids": ids(lambda t: t.graded.grade == "held"),
        "escalated_ids": ids(lambda t: t.escalated),
        "delivered_wrong_ids": ids(lambda t: t.delivered_wrong),
        "error_ids": ids(lambda t: t.graded.grade == "error"),
    }


def load_items(path: Path, limit: int | None) -> list[Item]:
    """The JSONL items, optionally only the first `limit`."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [Item.from_json(json.loads(line)) for line in lines]
    return items[:limit] if limit else items


def shorten(text: str, width: int) -> str:
    """One line of at most `width` characters, for the console and the docs table."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


# --- the database and the app --------------------------------------------------------------


async def warm_up(runtime: Runtime, settings: Settings) -> float:
    """Start the embedded llama.cpp servers the roles use, so no turn's latency holds a model
    load; returns the milliseconds it took. Remote providers have nothing to start."""
    from triad.providers.local import LocalProvider

    started = time.perf_counter()
    models: set[str] = set()
    for agent in runtime.rules.agents:
        teacher, student = runtime.config.roles_for(agent, settings.ensemble_profile)
        models |= {teacher.model, student.model}
    for model_id in sorted(models):
        provider = runtime.provider(model_id)
        if isinstance(provider, LocalProvider):
            await provider.server.ensure_started()
    return (time.perf_counter() - started) * 1000


async def recorded_turn(
    factory: async_sessionmaker[AsyncSession], message_id: int
) -> dict[str, Any]:
    """What the turn wrote for its reply: the decision, candidates, the critic's evaluation,
    the signal and the escalation (the chat API's session view only shows the messages)."""

    def where(model: Any) -> Any:
        return select(model).where(model.message_id == message_id)

    async with factory() as db:
        reply = await db.get(Message, message_id)
        candidates = list(await db.scalars(where(Candidate).order_by(Candidate.id)))
        evaluation = await db.scalar(where(CriticEvaluation))
        signal = await db.scalar(where(TrainingSignal))
        escalation = await db.scalar(where(Escalation))
    claims: list[dict[str, Any]] = list(evaluation.claims) if evaluation else []
    consensus = evaluation.consensus if evaluation else signal.consensus if signal else None
    return {
        "decision": reply.decision if reply else None,
        "agent": signal.agent if signal else None,
        "escalation_reason": escalation.reason if escalation else None,
        "winner": signal.winner if signal else None,
        "consensus": consensus,
        "scores": evaluation.scores if evaluation else {},
        "rationale": evaluation.rationale if evaluation else None,
        "candidates": [
            {
                "role": c.role,
                "model": f"{c.provider}:{c.model}",
                "text": c.text,
                "error": c.error,
                "finish_reason": c.finish_reason,
                "latency_ms": c.latency_ms,
                "score": c.score,
                "claims": [claim for claim in claims if claim.get("role") == c.role],
            }
            for c in candidates
        ],
        "cache": (signal.candidates if signal and signal.winner == "cache" else None),
        "passage_ids": signal.passage_ids if signal else [],
        "knowledge_version": signal.knowledge_version if signal else None,
        "prompt_version": signal.prompt_version if signal else None,
    }


async def ask(
    client: httpx.AsyncClient,
    factory: async_sessionmaker[AsyncSession],
    item: Item,
    holding_reply: str,
) -> Turn:
    """One customer's whole conversation: a new session, one message, the turn read back."""
    created = await client.post("/chat/sessions", json={})
    created.raise_for_status()
    session = created.json()
    headers = {"X-Session-Token": session["token"]}
    started = time.perf_counter()
    response = await client.post(
        f"/chat/sessions/{session['session_id']}/messages",
        json={"content": item.q},
        headers=headers,
    )
    ms = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        status = f"http {response.status_code}"
        return Turn(item, status, None, response.text, ms, Graded("error"))
    turn = response.json()
    recorded = await recorded_turn(factory, int(turn["message_id"]))
    decision = recorded.pop("decision")
    recorded = {
        "session_id": str(uuid.UUID(session["session_id"])),
        "message_id": turn["message_id"],
        "cached": turn.get("cached", False),
        "degraded": turn.get("degraded", False),
        **recorded,
    }
    graded = grade(item, turn["reply"], decision, holding_reply)
    return Turn(item, turn["status"], decision, turn["reply"], ms, graded, recorded)


async def run(
    items: Sequence[Item], settings: Settings, url: str, out: IO[str] | None, label: str | None
) -> tuple[list[Turn], dict[str, Any]]:
    """Serve the app in-process and ask every question in turn; returns the turns and what
    the run used (profile, role models, warm-up time)."""
    from triad.api import create_app

    await ingest_knowledge(settings, url)
    # The nightly scheduler is not part of a turn; off, so no job can touch lessons mid-run.
    # One client opens a session per question: the per-address session limit is off.
    quiet = {"scheduler": False, "chat_session_ip_limit": 0}
    app = create_app(settings.model_copy(update=quiet), database_url=url)
    turns: list[Turn] = []
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        factory: async_sessionmaker[AsyncSession] = app.state.session_factory
        profile_name = settings.ensemble_profile or runtime.config.profile
        profile = runtime.config.active(settings.ensemble_profile)
        setup = {
            "profile": profile_name,
            "teacher": profile.teacher.model,
            "student": profile.student.model,
            "warmup_ms": round(await warm_up(runtime, settings), 1),
        }
        holding_reply: str = runtime.config.holding_reply
        transport = httpx.ASGITransport(app=app)
        progress = Progress(
            console=Console(stderr=True), transient=True, redirect_stdout=sys.stdout.isatty()
        )
        async with httpx.AsyncClient(
            transport=transport, base_url="http://triad.bench", timeout=None
        ) as client:
            with progress:
                task = progress.add_task("turns", total=len(items))
                for item in items:
                    progress.update(task, description=f"turn {item.id}")
                    turn = await ask(client, factory, item, holding_reply)
                    turns.append(turn)
                    outcome = f"{turn.status}/{turn.decision or '-'}"
                    print(
                        f"{item.id:8s} {outcome:32s} {turn.graded.grade:7s} "
                        f"{turn.ms:8.0f} ms  {shorten(turn.reply, 80)}",
                        flush=True,
                    )
                    if out is not None:
                        out.write(json.dumps(turn.row(label), ensure_ascii=False) + "\n")
                        out.flush()
                    progress.advance(task)
    return turns, setup


# --- the report ----------------------------------------------------------------------------


def _cell(text: str) -> str:
    return shorten(text, 160).replace("|", "\\|")


def write_section(
    doc: Path, command: str, summary: dict[str, Any], turns: Sequence[Turn], label: str | None
) -> None:
    """Replace this data file's block inside the whole-turns section (one block per file, so
    the dev and held-out runs stand side by side); every other line stays."""
    keys = ("n", "correct", "wrong", "held", "escalated", "delivered_wrong", "p50_ms", "p95_ms")
    topic_keys = ("n", "correct", "wrong", "held", "escalated", "delivered_wrong")
    figures = [f"| {' | '.join(keys)} |", "|---" * len(keys) + "|"]
    figures.append(f"| {' | '.join(str(summary[k]) for k in keys)} |")
    topics = [f"| topic | {' | '.join(topic_keys)} |", "|---" * (len(topic_keys) + 1) + "|"]
    topics += [
        f"| {name} | {' | '.join(str(counts.get(k, 0)) for k in topic_keys)} |"
        for name, counts in summary["by_topic"].items()
    ]
    failed = [t for t in turns if t.graded.grade != "correct"]
    failures = ["| id | grade | decision | question | reply |", "|---|---|---|---|---|"]
    failures += [
        f"| {t.item.id} | {t.graded.grade} | {t.decision or t.status} | {_cell(t.item.q)} "
        f"| {_cell(t.reply)} |"
        for t in failed
    ]
    data = str(summary.get("data") or "data")
    begin, end = f"<!-- turns:{data}:begin -->", f"<!-- turns:{data}:end -->"
    block = "\n".join([
        begin,
        f"### {data}",
        "",
        f"- command: `.venv/bin/python {command}`",
        *([f"- label: {label}"] if label else []),
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {machine()}",
        f"- ensemble: profile `{summary['profile']}`, teacher `{summary['teacher']}`, "
        f"student `{summary['student']}`; model warm-up {summary['warmup_ms']} ms",
        "",
        *figures,
        "",
        *topics,
        "",
        "Failures (wrong, held):" if failed else "Failures: none.",
        *(["", *failures] if failed else []),
        end,
    ])  # fmt: skip
    text = doc.read_text(encoding="utf-8") if doc.is_file() else ""
    if "<!-- turns:" not in _inside(text):
        # a section without per-file blocks (or none yet) starts again from its heading
        replace_block(doc, BEGIN, END, "\n".join([BEGIN, SECTION, "", INTRO, END]))
        text = doc.read_text(encoding="utf-8")
    if begin in text:
        replace_block(doc, begin, end, block)
    else:
        doc.write_text(text.replace(END, f"{block}\n\n{END}", 1), encoding="utf-8")


def _inside(text: str) -> str:
    """The whole-turns section's text between its own markers."""
    if BEGIN not in text or END not in text:
        return ""
    return text[text.index(BEGIN) + len(BEGIN) : text.index(END)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a JSONL file of questions")
    parser.add_argument("--limit", type=int, default=None, help="only the first N items")
    parser.add_argument("--out", type=Path, default=None, help="one JSON line per question")
    parser.add_argument("--json", action="store_true", help="end stdout with one JSON line")
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    parser.add_argument("--label", default=None, help="a name for this run, kept in the output")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"no such file: {args.data}")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    try:
        items = load_items(args.data, args.limit)
    except (KeyError, ValueError) as exc:
        parser.error(f"{args.data} is not in the customer shape (id, q, must, never): {exc!r}")
    if not items:
        parser.error(f"{args.data} has no items")
    settings = Settings()
    if settings.database_url:
        parser.error("the benchmark drops and re-creates its database: unset DATABASE_URL")
    url = fresh_database(settings, TURNS_DATABASE)
    out = args.out.open("w", encoding="utf-8") if args.out else None
    try:
        turns, setup = asyncio.run(run(items, settings, url, out, args.label))
    finally:
        if out is not None:
            out.close()
    summary = {"label": args.label, "data": args.data.name, **setup, **summarize(turns)}
    if args.write_docs:
        command = "scripts/bench_turns.py " + " ".join(sys.argv[1:] if argv is None else argv)
        write_section(PROJECT_ROOT / "docs" / "BENCHMARKS.md", command, summary, turns, args.label)
    if args.json:
        print(json.dumps(summary))
    else:
        for key in ("n", "correct", "wrong", "held", "escalated", "delivered_wrong", "p50_ms"):
            print(f"{key}={summary[key]}", end="  ")
        print(f"p95_ms={summary['p95_ms']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
