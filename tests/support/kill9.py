"""kill -9 under load: a `triad serve` subprocess answers customers until SIGKILL lands.

Shared by tests/test_kill9.py and scripts/bench_chaos.py. `HALF_WRITTEN` are the checks of the
database afterwards, each a count that must be 0: a turn is written in one transaction, so a
kill can lose a turn but never leave part of one.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from tests.support.chaos import chaos_environ
from tests.support.serve import start_server
from triad.settings import Settings

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


@dataclass
class Killed:
    """One round: the reply ids customers received, and how many turns were in flight."""

    answered: set[int] = field(default_factory=set)
    in_flight: int = 0
    returncode: int | None = None


def serve_environ(settings: Settings, database_name: str) -> dict[str, str]:
    """The environment of a `triad serve` on `database_name` with `settings`' config files,
    no scheduler, no per-address session limit and no trace export."""
    environ = {
        **os.environ,
        **chaos_environ(settings),
        "TRIAD_DATABASE_NAME": database_name,
        "TRIAD_CHAT_SESSION_IP_LIMIT": "0",
    }
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        environ.pop(name, None)
    return environ


async def kill_under_load(
    environ: dict[str, str],
    questions: Sequence[str],
    *,
    concurrency: int = 8,
    answered_before_kill: int = 12,
) -> Killed:
    """Serve, let `concurrency` customers ask until `answered_before_kill` turns are answered,
    then SIGKILL the server while turns are in flight. A 5xx fails the round."""
    server, port = await start_server(environ)
    killed = Killed()
    enough = asyncio.Event()

    async def customer(client: httpx.AsyncClient, n: int) -> None:
        created = await client.post("/chat/sessions", json={})
        assert created.status_code == 201, created.text
        session = created.json()
        headers = {"X-Session-Token": session["token"]}
        url = f"/chat/sessions/{session['session_id']}/messages"
        while True:
            killed.in_flight += 1
            try:
                response = await client.post(
                    url, json={"content": questions[n % len(questions)]}, headers=headers
                )
            except httpx.TransportError:
                return  # the server is gone
            finally:
                killed.in_flight -= 1
            assert response.status_code == 200, response.text
            killed.answered.add(int(response.json()["message_id"]))
            n += concurrency
            if len(killed.answered) >= answered_before_kill:
                enough.set()

    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for _ in range(240):
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.5)
            customers = [asyncio.create_task(customer(client, n)) for n in range(concurrency)]
            waiting = asyncio.ensure_future(enough.wait())
            done, _ = await asyncio.wait(
                [waiting, *customers], timeout=120, return_when=asyncio.FIRST_COMPLETED
            )
            for task in done - {waiting}:
                task.result()  # a customer's failure (a 5xx) surfaces here
                raise AssertionError("the server went away before it was killed")
            assert waiting in done, f"only {len(killed.answered)} turns answered in 120 s"
            while killed.in_flight == 0:  # noqa: ASYNC110 - the kill must land mid-turn
                await asyncio.sleep(0.01)
            in_flight = killed.in_flight
            server.send_signal(signal.SIGKILL)
            await asyncio.wait_for(server.wait(), timeout=30)
            await asyncio.gather(*customers)
            killed.in_flight = in_flight
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
    killed.returncode = server.returncode
    return killed
