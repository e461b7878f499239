"""Router overhead and failover latency over a loopback provider with a fixed latency.

A local asyncio HTTP server (its own process) answers OpenAI chat completions after a fixed
delay (20 ms by default); the real OpenAI adapter calls it. Each scenario times the same
requests made directly through the adapter and through `Router.route`, interleaved in blocks so
drift on a shared machine hits both alike, and reports p50/p95 of each and the ADDED
milliseconds (routed minus direct, per percentile; the median over rounds). Scenarios:

- overhead at concurrency 1 and 64 (one model, healthy);
- bookkeeping only: an in-process provider that answers at once (no I/O at all);
- failover when the primary answers 503 (one call, retries off for the measurement);
- failover when the primary's breaker is open (skipped at no cost).

Loopback only, bounded request counts. `--json` ends stdout with one JSON line; `--write-docs`
updates the router section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import multiprocessing
import re
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, ClassVar

import openai
from benchlib import machine, percentile, replace_block

from triad.providers.base import (
    ChatMessage,
    Completion,
    CompletionRequest,
    Provider,
)
from triad.providers.openai_compat import OpenAIProvider
from triad.providers.registry import ModelRegistry
from triad.routing.config import RoutingConfig
from triad.routing.router import Router
from triad.routing.types import RouteKey

PRIMARY, BACKUP = "openai:gpt-4o-mini", "anthropic:claude-haiku-4-5"
KEY = RouteKey(task_type="bench", priority="high")
REQUEST = CompletionRequest(
    messages=[ChatMessage(role="user", content="Say hello.")], max_tokens=8, timeout_s=30
)
PROJECT_ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- router:begin -->", "<!-- router:end -->"

# --- the loopback provider (runs in its own process) ---------------------------------------


def _body(model: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1,
            "model": model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": "Hello!"},
                 "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
        }
    ).encode()  # fmt: skip


def _response(status: int, body: bytes) -> bytes:
    reason = {200: "OK", 503: "Service Unavailable"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


async def _handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency_s: float
) -> None:
    """HTTP/1.1 keep-alive: model `down` gets an immediate 503, any other the fixed delay."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            match = re.search(rb"(?i)content-length:\s*(\d+)", head)
            body = await reader.readexactly(int(match.group(1))) if match else b""
            model = json.loads(body or b"{}").get("model", "")
            if model == "down":
                error = {"error": {"type": "api_error", "message": "overloaded"}}
                writer.write(_response(503, json.dumps(error).encode()))
            else:
                await asyncio.sleep(latency_s)
                writer.write(_response(200, _body(model)))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _serve(conn: Connection, latency_s: float) -> None:
    async def main() -> None:
        server = await asyncio.start_server(
            lambda r, w: _handle(r, w, latency_s), "127.0.0.1", 0, backlog=1024
        )
        conn.send(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# --- measurement ----------------------------------------------------------------------------


class Instant(Provider):
    """Answers at once: what is left of a call is the router's own bookkeeping."""

    kind: ClassVar[str] = "instant"
    needs_network: ClassVar[bool] = False

    async def complete(self, request: CompletionRequest) -> Completion:
        return Completion(text="Hello!", model=self.model, provider="openai", input_tokens=9,
                          output_tokens=2)  # fmt: skip


async def timed(call: Callable[[], Awaitable[object]], n: int, concurrency: int) -> list[float]:
    """Latency in ms of `n` calls, `concurrency` at a time."""
    latencies: list[float] = []
    left = n

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            started = time.perf_counter()
            await call()
            latencies.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


async def compare(
    direct: Callable[[], Awaitable[object]],
    routed: Callable[[], Awaitable[object]],
    *,
    n: int,
    concurrency: int,
    rounds: int,
    blocks: int = 4,
) -> dict[str, float]:
    """Median over rounds of p50/p95 for both paths, of the added milliseconds, and of the
    client CPU each call costs. Blocks alternate which path goes first (ABBA), because on a
    busy client the second block of a pair runs measurably slower whatever it is."""
    per_round: list[dict[str, float]] = []
    await timed(direct, concurrency * 2, concurrency)  # warm connections and code paths
    await timed(routed, concurrency * 2, concurrency)
    size = n // blocks
    for _ in range(rounds):
        latencies: dict[str, list[float]] = {"direct": [], "routed": []}
        cpu = {"direct": 0.0, "routed": 0.0}
        for block in range(blocks):
            order = ("direct", "routed") if block % 2 == 0 else ("routed", "direct")
            for path in order:
                started = time.process_time()
                latencies[path] += await timed(
                    direct if path == "direct" else routed, size, concurrency
                )
                cpu[path] += time.process_time() - started
        a, b = latencies["direct"], latencies["routed"]
        stats = {
            "direct_p50": percentile(a, 0.50),
            "direct_p95": percentile(a, 0.95),
            "routed_p50": percentile(b, 0.50),
            "routed_p95": percentile(b, 0.95),
        }
        stats["added_p50"] = stats["routed_p50"] - stats["direct_p50"]
        stats["added_p95"] = stats["routed_p95"] - stats["direct_p95"]
        stats["added_cpu_ms"] = (cpu["routed"] - cpu["direct"]) / (size * blocks) * 1000
        per_round.append(stats)
    result = {k: round(statistics.median(r[k] for r in per_round), 3) for k in per_round[0]}
    result["ratio_p50"] = round(result["routed_p50"] / result["direct_p50"], 3)
    result["n"] = size * blocks
    result["concurrency"] = concurrency
    return result


def router_for(
    providers: dict[str, Provider], registry: ModelRegistry, route: list[str], **extra: Any
) -> Router:
    config = RoutingConfig.model_validate(
        {"routes": {"default": {p: route for p in ("low", "medium", "high")}}, **extra}
    )
    return Router(config, registry, providers.__getitem__)


async def run(url: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    registry = ModelRegistry.from_yaml(PROJECT_ROOT / "config" / "models.yaml", environ={})

    def adapter(model: str) -> OpenAIProvider:
        return OpenAIProvider(
            openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="bench"), model=model
        )

    ok, down = adapter("ok"), adapter("down")
    results: dict[str, dict[str, float]] = {}
    plain = router_for({PRIMARY: ok}, registry, [PRIMARY])
    for concurrency, n in ((1, args.requests), (64, args.requests_64)):
        results[f"overhead_c{concurrency}"] = await compare(
            lambda: ok.complete(REQUEST),
            lambda: plain.route(KEY, REQUEST),
            n=n,
            concurrency=concurrency,
            rounds=args.rounds,
        )
    results["noise_c64_direct_vs_direct"] = await compare(
        lambda: ok.complete(REQUEST),
        lambda: ok.complete(REQUEST),
        n=args.requests_64,
        concurrency=64,
        rounds=args.rounds,
    )
    instant = Instant(model="instant")
    bookkeeping = router_for({PRIMARY: instant}, registry, [PRIMARY])
    results["bookkeeping_only"] = await compare(
        lambda: instant.complete(REQUEST),
        lambda: bookkeeping.route(KEY, REQUEST),
        n=args.requests * 10,
        concurrency=1,
        rounds=args.rounds,
    )
    # Every request tries the 503 primary: retries off, breaker and health demotion never act.
    blind = {
        "retry": {"max_attempts": 1},
        "breaker": {"enabled": False},
        "health": {"min_samples": 1_000_000},
    }
    failover = router_for({PRIMARY: down, BACKUP: ok}, registry, [PRIMARY, BACKUP], **blind)
    results["failover_503"] = await compare(
        lambda: ok.complete(REQUEST),
        lambda: failover.route(KEY, REQUEST),
        n=args.requests,
        concurrency=1,
        rounds=args.rounds,
    )
    # The same with health on: after a few 503s the primary is demoted behind the backup.
    demoting = router_for(
        {PRIMARY: down, BACKUP: ok}, registry, [PRIMARY, BACKUP], **{**blind, "health": {}}
    )
    for _ in range(demoting.config.health.min_samples):
        await demoting.route(KEY, REQUEST)
    assert demoting.plan(KEY)[0].model_id == BACKUP
    results["failover_503_demoted"] = await compare(
        lambda: ok.complete(REQUEST),
        lambda: demoting.route(KEY, REQUEST),
        n=args.requests,
        concurrency=1,
        rounds=args.rounds,
    )
    tripped = router_for(
        {PRIMARY: down, BACKUP: ok},
        registry,
        [PRIMARY, BACKUP],
        retry={"max_attempts": 1},
        breaker={"min_calls": 1, "open_s": 86_400, "max_open_s": 86_400},
    )
    await tripped.route(KEY, REQUEST)  # one 503 opens the primary's breaker for a day
    assert tripped.breakers[PRIMARY].state == "open"
    results["failover_breaker_open"] = await compare(
        lambda: ok.complete(REQUEST),
        lambda: tripped.route(KEY, REQUEST),
        n=args.requests,
        concurrency=1,
        rounds=args.rounds,
    )
    await ok.aclose()
    await down.aclose()
    return results


# --- reporting ------------------------------------------------------------------------------


COLUMNS = ("concurrency", "n", "direct_p50", "direct_p95", "routed_p50", "routed_p95",
           "added_p50", "added_p95", "ratio_p50", "added_cpu_ms")  # fmt: skip


def table(results: dict[str, dict[str, float]]) -> list[str]:
    rows = [f"| scenario | {' | '.join(COLUMNS)} |", "|---" * (len(COLUMNS) + 1) + "|"]
    for name, r in results.items():
        rows.append(f"| {name} | {' | '.join(str(r[c]) for c in COLUMNS)} |")
    return rows


INTRO = """\
The router's own cost over a loopback provider that answers after a fixed delay, called
through the real OpenAI adapter; all times in milliseconds; `n` requests per path in each
round, in blocks that alternate which path goes first. `direct` calls the adapter,
`routed` calls `Router.route` (route lookup, health ordering, breaker, retry bookkeeping,
token and cost accounting, metrics) over the same adapter. `added` = routed - direct per
percentile, the median over rounds (so it can come out slightly negative in the noise);
`added_cpu_ms` is the client CPU time one routed call costs more than a direct one (itself
noisy by a few tenths of a millisecond: one SDK call costs about 3-4 ms of CPU here).
`bookkeeping_only` uses an in-process provider that answers at once: the router with no I/O.
`failover_503`: the primary answers 503 at once and the backup answers, on every request
(retries, breaker and health demotion switched off for this row, so it is the cost of one
failed call); `failover_503_demoted`: the same with health on, where after a few 503s the
primary is moved behind the backup; `failover_breaker_open`: the primary's breaker is open,
so it is skipped without a request. All three are compared with calling the backup
directly. LiteLLM reports 2 ms median / 8 ms p95 added for its router.

At concurrency 64 on a small machine the client is CPU-bound in the OpenAI SDK itself (about
3 ms of CPU per call, 64 calls in flight), so latency there is mostly queueing and swings by
tens of milliseconds between identical runs: `noise_c64_direct_vs_direct` times the direct
path against itself to show that floor. Read the c=64 latency columns against it, and take
`bookkeeping_only` (no I/O, so no noise from the SDK) as the router's actual cost per call."""


def write_docs(
    doc: Path, command: str, results: dict[str, dict[str, float]], rounds: int, latency_ms: float
) -> None:
    """Replace the router section between its markers; every other line stays."""
    block = "\n".join([
        BEGIN,
        "## Router",
        "",
        INTRO,
        "",
        f"- command: `.venv/bin/python {command}`",
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {machine()}",
        f"- rounds: {rounds}; loopback provider latency: {latency_ms:g} ms",
        "",
        *table(results),
        END,
    ])  # fmt: skip
    replace_block(doc, BEGIN, END, block)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=20.0, help="the provider's delay")
    parser.add_argument("--requests", type=int, default=200, help="per path per round, c=1")
    parser.add_argument("--requests-64", type=int, default=1280, help="per path per round, c=64")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="end stdout with one JSON line")
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    for name in ("requests", "requests_64", "rounds"):
        if not 1 <= getattr(args, name) <= 20_000:
            parser.error(f"--{name.replace('_', '-')} must be between 1 and 20000")

    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    server = context.Process(target=_serve, args=(send, args.latency_ms / 1000), daemon=True)
    server.start()
    try:
        port = receive.recv()
        results = asyncio.run(run(f"http://127.0.0.1:{port}", args))
    finally:
        server.terminate()
        server.join(timeout=5)
    for line in table(results):
        print(line)
    if args.write_docs:
        command = "scripts/bench_router.py " + " ".join(sys.argv[1:] if argv is None else argv)
        doc = PROJECT_ROOT / "docs" / "BENCHMARKS.md"
        write_docs(doc, command.strip(), results, args.rounds, args.latency_ms)
    if args.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
