"""kill -9 under load: a turn is written whole or not at all, with exactly one training signal.

A real `triad serve` subprocess (its own port, the test database) answers customers through
the chat API, 8 at a time, its two roles served by a flaky loopback provider (30% faults), and
is killed with SIGKILL while turns are in flight; twice. Then the database must hold no
half-written turn: every customer message has its reply, every reply its two candidates, its
training signal and (unless it was sent) its escalation, and every turn a customer saw
answered is there with exactly one signal.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import TEST_DATABASE
from tests.support.chaos import QUESTIONS, ChaosServer, chaos_settings
from tests.support.kill9 import HALF_WRITTEN, kill_under_load, serve_environ
from triad.knowledge.embedding import Embedder
from triad.knowledge.ingest import ingest_with_settings
from triad.settings import Settings

KILLS = 2
ANSWERED_BEFORE_KILL = 12


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
        environ = serve_environ(chaos, TEST_DATABASE)
        if os.environ.get("TEST_DATABASE_URL"):
            environ["DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
        answered: set[int] = set()
        for _ in range(KILLS):
            started = time.monotonic()
            killed = await kill_under_load(
                environ, QUESTIONS, answered_before_kill=ANSWERED_BEFORE_KILL
            )
            assert killed.returncode == -signal.SIGKILL
            assert killed.in_flight > 0, "the kill landed while turns were being answered"
            assert time.monotonic() - started < 120
            answered |= killed.answered

    for what, query in HALF_WRITTEN.items():
        assert await session.scalar(text(query)) == 0, what
    signals = set(await session.scalars(text("SELECT message_id FROM training_signals")))
    assert answered <= signals, "every turn a customer saw answered was recorded"
    replies = await session.scalar(text("SELECT count(*) FROM messages WHERE role = 'assistant'"))
    assert replies == len(signals) >= KILLS * ANSWERED_BEFORE_KILL
