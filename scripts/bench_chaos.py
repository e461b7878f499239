"""Customer turns against a flaky provider: how many are held for staff, with and without the
breaker and the hedge, and whether any request ends in a 5xx.

Both ensemble roles are served by a loopback OpenAI-compatible server (tests/support/chaos.py)
that fails `--fault-rate` of its calls at random, one of: HTTP 500, HTTP 429 with Retry-After,
a hang, a 200 whose body is not JSON. A call it answers gets the sentences of the prompt's own
passages the extractive teacher would pick, so the critic judges a real answer. The arms, each
its own app with its own server (same seed), on one database (triad_bench_chaos: dropped,
re-created, migrated and given the tenant's knowledge at every run):

- `faults`: the shipped routing.yaml (ratio breaker, hedge after `hedge_after_s`);
- `faults_breaker_off`: the same with the breaker disabled;
- `faults_no_hedge`: the same with hedging off (a hang waits for the role's deadline);
- `no_faults`: the shipped rules and a server that never fails;
- `outage`, `outage_breaker_off`: a server that answers every call with HTTP 500, with the
  shipped breaker and without one: every turn is held either way, the breaker is what keeps
  the dead provider from being called (`provider_calls`, `breaker_skips`) and the turn quick.

The arms are interleaved in blocks, so a slow minute of the machine falls on all of them. Each
turn is a new chat session (`POST /chat/sessions`) and one message, `--concurrency` at a time,
through the real FastAPI app in-process; caches and experiments are off. Held = the turn's
status is `pending_staff` (the holding reply); failed roles and their timeouts are read from
the turn's candidates, breaker skips from its provider_calls.

Then `--kills` rounds of kill -9 (tests/support/kill9.py): a `triad serve` subprocess on the
same database and the same flaky provider answers customers, `--concurrency` at a time, and is
killed with SIGKILL while turns are in flight; afterwards every half-written-turn check must
count 0 and every turn a customer saw answered must have exactly one training signal.

    .venv/bin/python scripts/bench_chaos.py DATA.jsonl [--turns 300] [--concurrency 8]
        [--fault-rate 0.3] [--role-timeout 10] [--seed 1] [--kills 3] [--write-docs]

The last stdout line is one JSON object: the settings, per arm its figures, and the kill -9
rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from benchlib import fresh_database, ingest_knowledge, machine, percentile, replace_block
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from triad.db.models import Candidate, ProviderCall
from triad.db.session import make_engine
from triad.settings import PROJECT_ROOT, Settings

# The fault server and its config live with the tests that use them too.
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))
from tests.support.chaos import FAULTS, ChaosServer, chaos_settings
from tests.support.kill9 import HALF_WRITTEN, kill_under_load, serve_environ

DATABASE = "triad_bench_chaos"
BEGIN, END = "<!-- chaos:begin -->", "<!-- chaos:end -->"
HELD = "pending_staff"
ARMS: dict[str, dict[str, Any]] = {
    "faults": {},
    "faults_breaker_off": {"breaker": {"enabled": False}},
    "faults_no_hedge": {"retry": {"hedge_after_s": None}},
    "no_faults": {"fault_rate": 0.0},
    "outage": {"fault_rate": 1.0, "kinds": ("http_500",)},
    "outage_breaker_off": {
        "fault_rate": 1.0,
        "kinds": ("http_500",),
        "breaker": {"enabled": False},
    },
}


@dataclass
class Arm:
    """One configuration's app, fault server and results."""

    name: str
    server: ChaosServer
    client: httpx.AsyncClient | None = None
    factory: async_sessionmaker[AsyncSession] | None = None
    turns: list[tuple[int, str | None, float, int | None]] = field(default_factory=list)
    """(HTTP status, turn status, milliseconds, reply id) per turn."""


def load_questions(path: Path) -> list[str]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [str(json.loads(line)["q"]) for line in lines]


async def ask(arm: Arm, question: str) -> None:
    """One customer: a new session, one message."""
    assert arm.client is not None
    started = time.perf_counter()
    created = await arm.client.post("/chat/sessions", json={})
    if created.status_code != 201:
        arm.turns.append((created.status_code, None, (time.perf_counter() - started) * 1000, None))
        return
    session = created.json()
    started = time.perf_counter()
    response = await arm.client.post(
        f"/chat/sessions/{session['session_id']}/messages",
        json={"content": question},
        headers={"X-Session-Token": session["token"]},
    )
    ms = (time.perf_counter() - started) * 1000
    body = response.json() if response.status_code == 200 else {}
    arm.turns.append((response.status_code, body.get("status"), ms, body.get("message_id")))


async def block(arm: Arm, questions: Sequence[str], concurrency: int) -> None:
    """`questions` through one arm, `concurrency` customers at a time."""
    queue = list(questions)

    async def customer() -> None:
        while queue:
            await ask(arm, queue.pop(0))

    await asyncio.gather(*(customer() for _ in range(concurrency)))


async def recorded(arm: Arm) -> dict[str, Any]:
    """What the arm's turns recorded: failed roles (and their error types), breaker skips."""
    assert arm.factory is not None
    ids = [reply for _, _, _, reply in arm.turns if reply is not None]
    async with arm.factory() as db:
        errors = list(
            await db.scalars(
                select(Candidate.error).where(
                    Candidate.message_id.in_(ids), Candidate.error.is_not(None)
                )
            )
        )
        outcomes = Counter(
            await db.scalars(select(ProviderCall.outcome).where(ProviderCall.message_id.in_(ids)))
        )
    return {
        "failed_roles": len(errors),
        "failed_roles_timeout": sum("Timeout" in (e or "") for e in errors),
        "breaker_skips": outcomes.get("skipped_breaker", 0),
    }


def figures(arm: Arm) -> dict[str, Any]:
    codes = Counter(code for code, _, _, _ in arm.turns)
    statuses = Counter(status for _, status, _, _ in arm.turns)
    ms = [m for code, _, m, _ in arm.turns if code == 200]
    n = len(arm.turns)
    return {
        "turns": n,
        "held": statuses[HELD],
        "held_share": round(statuses[HELD] / n, 3) if n else 0.0,
        "pending_review": statuses["answered_pending_review"],
        "http_5xx": sum(c for code, c in codes.items() if code >= 500),
        "http_other": sum(c for code, c in codes.items() if code not in (200,) and code < 500),
        "p50_ms": round(percentile(ms, 0.50), 1),
        "p95_ms": round(percentile(ms, 0.95), 1),
        "provider_calls": arm.server.calls,
        "faults": {k: v for k, v in sorted(arm.server.faults.items()) if k != "none"},
    }


async def run(args: argparse.Namespace, questions: list[str]) -> dict[str, dict[str, Any]]:
    from triad.api import create_app

    base = Settings()
    url = args.url
    arms: list[Arm] = []
    async with AsyncExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-chaos-")))
        for name, spec in ARMS.items():
            server = ChaosServer(
                fault_rate=spec.get("fault_rate", args.fault_rate),
                seed=args.seed,
                retry_after_s=args.retry_after,
                kinds=spec.get("kinds", FAULTS),
            )
            stack.enter_context(server)
            settings = chaos_settings(
                folder / name,
                server.url,
                base=base,
                timeout_s=args.role_timeout,
                breaker=spec.get("breaker"),
                retry=spec.get("retry"),
            )
            # Every turn is a new anonymous session from one address: no per-address limit.
            settings = settings.model_copy(update={"chat_session_ip_limit": 0})
            app = create_app(settings, database_url=url)
            await stack.enter_async_context(app.router.lifespan_context(app))
            arm = Arm(name, server, factory=app.state.session_factory)
            arm.client = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app),
                    base_url="http://triad.bench",
                    timeout=None,
                )
            )
            arms.append(arm)
        size = args.concurrency * args.block
        asked = [questions[n % len(questions)] for n in range(args.turns)]
        for start in range(0, args.turns, size):
            for arm in arms if (start // size) % 2 == 0 else reversed(arms):
                await block(arm, asked[start : start + size], args.concurrency)
            done = min(start + size, args.turns)
            line = "  ".join(f"{a.name}: held {figures(a)['held']}/{len(a.turns)}" for a in arms)
            print(f"{done}/{args.turns}  {line}", file=sys.stderr, flush=True)
        results = {a.name: {**figures(a), **await recorded(a)} for a in arms}
    return results


async def kill_rounds(args: argparse.Namespace, questions: list[str], url: str) -> dict[str, Any]:
    """`--kills` rounds of kill -9 under load on the benchmark's database, then its checks."""
    base = Settings()
    answered: set[int] = set()
    in_flight: list[int] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-kill9-") as folder,
        ChaosServer(fault_rate=args.fault_rate, seed=args.seed) as server,
    ):
        settings = chaos_settings(Path(folder), server.url, base=base, timeout_s=args.role_timeout)
        environ = serve_environ(settings, DATABASE)
        for n in range(args.kills):
            killed = await kill_under_load(environ, questions, concurrency=args.concurrency)
            answered |= killed.answered
            in_flight.append(killed.in_flight)
            print(
                f"kill {n + 1}/{args.kills}: {len(killed.answered)} answered, "
                f"{killed.in_flight} in flight, exit {killed.returncode}",
                file=sys.stderr,
                flush=True,
            )
    engine = make_engine(url)
    try:
        async with engine.connect() as db:
            half = {what: int(await db.scalar(text(q)) or 0) for what, q in HALF_WRITTEN.items()}
            signals = set(await db.scalars(text("SELECT message_id FROM training_signals")))
            replies = await db.scalar(
                text("SELECT count(*) FROM messages WHERE role = 'assistant'")
            )
    finally:
        await engine.dispose()
    return {
        "kills": args.kills,
        "answered": len(answered),
        "in_flight_at_kill": in_flight,
        "half_written": half,
        "answered_without_signal": len(answered - signals),
        "replies_in_database": int(replies or 0),
        "signals_in_database": len(signals),
    }


def write_docs(summary: dict[str, Any], command: str) -> None:
    """The chaos section of docs/BENCHMARKS.md, between its own markers."""
    keys = (
        "turns",
        "held",
        "held_share",
        "pending_review",
        "http_5xx",
        "http_other",
        "p50_ms",
        "p95_ms",
        "provider_calls",
        "failed_roles",
        "failed_roles_timeout",
        "breaker_skips",
    )
    rows = [f"| arm | {' | '.join(keys)} | faults |", "|---" * (len(keys) + 2) + "|"]
    for name, arm in summary["arms"].items():
        faults = ", ".join(f"{k} {v}" for k, v in arm["faults"].items()) or "none"
        rows.append(f"| {name} | {' | '.join(str(arm[k]) for k in keys)} | {faults} |")
    block = "\n".join([
        BEGIN,
        "## Chaos: a flaky provider",
        "",
        "Both roles are served by a loopback OpenAI-compatible server that fails "
        f"{summary['fault_rate']:.0%} of its calls at random (HTTP 500, 429 with "
        f"Retry-After {summary['retry_after_s']:g}s, a hang, a body that is not JSON) and "
        "otherwise answers with the sentences of the prompt's passages the extractive teacher "
        "would pick. Arms: `faults` = the shipped config/routing.yaml (ratio breaker, hedge); "
        "`faults_breaker_off` = breaker disabled; `faults_no_hedge` = hedging off; `no_faults` = "
        "the shipped rules, a server that never fails; `outage` and `outage_breaker_off` = a "
        "server that answers every call with HTTP 500, with and without the breaker (every "
        "turn is held either way: the breaker is what spares the dead provider and the "
        "customer's wait). Interleaved in blocks of "
        f"{summary['block_turns']} turns; each turn a new chat session and one message through "
        f"the real app in-process, {summary['concurrency']} at a time; role timeout "
        f"{summary['role_timeout_s']:g} s; caches and experiments off. `held`: status "
        "`pending_staff`; `failed_roles`: candidates with an error (`_timeout`: timeouts); "
        "`breaker_skips`: provider calls skipped because a breaker was open. Both roles give "
        "the same grounded answer here, so without faults no turn is held: a held turn is one "
        "whose two roles both failed. Before this breaker (5 failures in 60 s opened it for "
        "300 s, hangs waited for the role's deadline), the same kind of run held 94.3% of 300 "
        "turns (issue #12).",
        "",
        f"- command: `.venv/bin/python {command}`",
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {machine()}",
        f"- data: {summary['data']} ({summary['questions']} questions, cycled)",
        "",
        *rows,
        *kill_rows(summary.get("kill9")),
        END,
    ])  # fmt: skip
    replace_block(PROJECT_ROOT / "docs" / "BENCHMARKS.md", BEGIN, END, block)


def kill_rows(kills: dict[str, Any] | None) -> list[str]:
    """The kill -9 rounds' lines of the section (none when the run had none)."""
    if not kills:
        return []
    checks = [f"| {what} | {count} |" for what, count in kills["half_written"].items()]
    return [
        "",
        f"kill -9 under load: {kills['kills']} rounds, each a `triad serve` subprocess on the "
        "same database and flaky provider, SIGKILL once it had answered 12 turns, with "
        f"{', '.join(str(n) for n in kills['in_flight_at_kill'])} turns in flight. Customers saw "
        f"{kills['answered']} turns answered; the database holds {kills['replies_in_database']} "
        f"replies and {kills['signals_in_database']} training signals (the arms' turns "
        "above included); answered turns without exactly one signal: "
        f"{kills['answered_without_signal']}.",
        "",
        "| half-written check (must be 0) | rows |",
        "|---|---|",
        *checks,
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("data", type=Path, help="customer-shaped JSONL (one {'q': ...} a line)")
    parser.add_argument("--turns", type=int, default=300, help="turns per arm")
    parser.add_argument("--concurrency", type=int, default=8, help="customers at a time")
    parser.add_argument("--block", type=int, default=5, help="rounds of turns per arm block")
    parser.add_argument("--fault-rate", type=float, default=0.3, help="share of calls failing")
    parser.add_argument("--retry-after", type=float, default=1.0, help="the 429s' Retry-After")
    parser.add_argument("--role-timeout", type=float, default=10.0, help="each role's deadline")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kills", type=int, default=3, help="kill -9 rounds (0: none)")
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"no such file: {args.data}")
    if args.turns < 1 or args.concurrency < 1 or args.block < 1 or args.kills < 0:
        parser.error("--turns, --concurrency and --block must be at least 1, --kills at least 0")
    if not 0.0 <= args.fault_rate <= 1.0:
        parser.error("--fault-rate must be within 0..1")
    try:
        questions = load_questions(args.data)
    except (KeyError, ValueError) as exc:
        parser.error(f"{args.data} is not customer-shaped JSONL (a 'q' per line): {exc!r}")
    if not questions:
        parser.error(f"{args.data} has no questions")
    if Settings().database_url:
        parser.error("the benchmark drops and re-creates its database: unset DATABASE_URL")
    started = time.monotonic()
    args.url = fresh_database(Settings(), DATABASE)
    asyncio.run(ingest_knowledge(Settings(), args.url))
    arms = asyncio.run(run(args, questions))
    kills = asyncio.run(kill_rounds(args, questions, args.url)) if args.kills else None
    summary = {
        "data": args.data.name,
        "questions": len(questions),
        "fault_rate": args.fault_rate,
        "retry_after_s": args.retry_after,
        "role_timeout_s": args.role_timeout,
        "concurrency": args.concurrency,
        "block_turns": args.concurrency * args.block,
        "seed": args.seed,
        "seconds": round(time.monotonic() - started, 1),
        "arms": arms,
        "kill9": kills,
    }
    for name, arm in arms.items():
        print(
            f"{name:20s} held {arm['held']:4d}/{arm['turns']} ({arm['held_share']:.1%})  "
            f"5xx {arm['http_5xx']}  p50 {arm['p50_ms']:.0f} ms  p95 {arm['p95_ms']:.0f} ms  "
            f"failed roles {arm['failed_roles']} ({arm['failed_roles_timeout']} timeouts)  "
            f"breaker skips {arm['breaker_skips']}"
        )
    if kills is not None:
        print(
            f"kill -9 x{kills['kills']}: {kills['answered']} answered, in flight "
            f"{kills['in_flight_at_kill']}, half-written {sum(kills['half_written'].values())}, "
            f"answered without a signal {kills['answered_without_signal']}"
        )
    if args.write_docs:
        command = "scripts/bench_chaos.py " + " ".join(sys.argv[1:] if argv is None else argv)
        write_docs(summary, command)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
