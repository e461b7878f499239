"""kill -9 under load: a turn is written whole or not at all, with exactly one training signal.

A real `triad serve` subprocess (its own port, the test database) answers customers through
the chat API, 8 at a time, its two roles served by a flaky loopback provider (30% faults), and
is killed with SIGKILL while turns are in flight; twice. Then the database must hold no
half-written turn: every customer message has its reply, every reply its two candidates, its
training signal and (unless it was sent) its escalation, and every turn a customer saw
answered is there with exactly one signal.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import TEST_DATABASE
from tests.routing.test_chaos import QUESTIONS
from tests.support.chaos import ChaosServer, chaos_environ, chaos_settings
from triad.knowledge.embedding import Embedder
from triad.knowledge.ingest import ingest_with_settings
from triad.settings import PROJECT_ROOT, Settings

CONCURRENCY = 8
KILLS = 2
ANSWERED_BEFORE_KILL = 12

HALF_WRITTEN = {
    "customer messages without a reply": """
        SELECT count(*) FROM messages q WHERE q.role = 'customer'
        AND NOT EXISTS (SELECT 1 FROM messages r WHERE r.reply_to_id = q.id)""",
    "replies without exactly one training signal": """
        SELECT count(*) FROM messages r WHERE r.role = 'assistant'
        AND (SELECT count(*) FROM training_signals s WHERE s.message_id = r.id) <> 1""",
    "replies without their two candidates": """
        SELECT count(*) FROM messages r WHERE r.role = 'assistant'
        AND (SELECT count(*) FROM candidates c WHERE c.message_id = r.id) <> 2""",
    "replies not sent alone without their escalation": """
        SELECT count(*) FROM messages r WHERE r.role = 'assistant' AND r.decision <> 'send'
        AND NOT EXISTS (SELECT 1 FROM escalations e WHERE e.message_id = r.id)""",
    "signals whose decision is not their reply's": """
        SELECT count(*) FROM training_signals s JOIN messages r ON r.id = s.message_id
        WHERE s.decision <> r.decision""",
}


async def start_server(environ: dict[str, str]) -> tuple[asyncio.subprocess.Process, int]:
    server = await asyncio.create_subprocess_exec(
        str(PROJECT_ROOT / ".venv" / "bin" / "triad"),
        "serve",
        "--port",
        "0",
        "--no-ingest-demo",
        cwd=PROJECT_ROOT,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert server.stdout is not None
    line = (await asyncio.wait_for(server.stdout.readline(), timeout=120)).decode()
    match = re.match(r"serving on http://127\.0\.0\.1:(\d+) ", line)
    assert match, f"triad serve said: {line!r}"
    return server, int(match.group(1))


async def load_then_kill(server: asyncio.subprocess.Process, port: int) -> tuple[set[int], int]:
    """Customers ask until `ANSWERED_BEFORE_KILL` turns are answered, then SIGKILL lands while
    others are in flight; the reply ids the customers received, and how many were in flight."""
    answered: set[int] = set()
    in_flight = 0
    enough = asyncio.Event()

    async def customer(client: httpx.AsyncClient, n: int) -> None:
        nonlocal in_flight
        created = await client.post("/chat/sessions", json={})
        assert created.status_code == 201, created.text
        session = created.json()
        headers = {"X-Session-Token": session["token"]}
        url = f"/chat/sessions/{session['session_id']}/messages"
        while True:
            in_flight += 1
            try:
                response = await client.post(
                    url, json={"content": QUESTIONS[n % len(QUESTIONS)]}, headers=headers
                )
            except httpx.TransportError:
                return  # the server is gone
            finally:
                in_flight -= 1
            assert response.status_code == 200, response.text
            answered.add(int(response.json()["message_id"]))
            n += CONCURRENCY
            if len(answered) >= ANSWERED_BEFORE_KILL:
                enough.set()

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        for _ in range(240):
            try:
                if (await client.get("/health")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)
        customers = [asyncio.create_task(customer(client, n)) for n in range(CONCURRENCY)]
        await asyncio.wait_for(enough.wait(), timeout=120)
        while in_flight == 0:  # noqa: ASYNC110 - the kill must land mid-turn, not between turns
            await asyncio.sleep(0.01)
        killed_in_flight = in_flight
        server.send_signal(signal.SIGKILL)
        await asyncio.wait_for(server.wait(), timeout=30)
        await asyncio.gather(*customers)
    return answered, killed_in_flight


@pytest.fixture
async def knowledge(session: AsyncSession, settings: Settings, embedder: Embedder) -> None:
    await ingest_with_settings(session, settings, embedder)


@pytest.mark.usefixtures("knowledge")
async def test_kill_9_under_load_leaves_no_half_written_turn(
    tmp_path: Path, settings: Settings, session: AsyncSession
) -> None:
    with ChaosServer(fault_rate=0.3, seed=9, retry_after_s=0.2) as provider:
        chaos = chaos_settings(
            tmp_path, provider.url, base=settings, timeout_s=5.0, retry={"hedge_after_s": 0.5}
        )
        environ = {
            **os.environ,
            **chaos_environ(chaos),
            "TRIAD_DATABASE_NAME": TEST_DATABASE,
            "TRIAD_CHAT_SESSION_IP_LIMIT": "0",
        }
        if os.environ.get("TEST_DATABASE_URL"):
            environ["DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
        for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
            environ.pop(name, None)
        answered: set[int] = set()
        for _ in range(KILLS):
            server, port = await start_server(environ)
            started = time.monotonic()
            try:
                seen, in_flight = await load_then_kill(server, port)
            finally:
                if server.returncode is None:
                    server.kill()
                    await server.wait()
            assert server.returncode == -signal.SIGKILL
            assert in_flight > 0, "the kill landed while turns were being answered"
            assert time.monotonic() - started < 120
            answered |= seen

    for what, query in HALF_WRITTEN.items():
        assert await session.scalar(text(query)) == 0, what
    signals = set(await session.scalars(text("SELECT message_id FROM training_signals")))
    assert answered <= signals, "every turn a customer saw answered was recorded"
    replies = await session.scalar(text("SELECT count(*) FROM messages WHERE role = 'assistant'"))
    assert replies == len(signals) >= KILLS * ANSWERED_BEFORE_KILL
