"""One real llama.cpp server for the whole session, and a fresh loopback server per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support.loopback import LoopbackServer
from triad.providers.local import LocalLlamaServer


@pytest.fixture(scope="session")
async def llama_server() -> AsyncIterator[LocalLlamaServer]:
    """SmolLM2-135M on 127.0.0.1, shared by every adapter test that needs a real model."""
    server = LocalLlamaServer(n_ctx=2048, threads=2)
    await server.ensure_started()
    yield server
    await server.aclose()


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server
