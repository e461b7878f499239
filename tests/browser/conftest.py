"""The real app served by uvicorn on a loopback port, and a headless system Chromium.

The server runs as a task in the test's own event loop, so it shares the app (lifespan already
run by the `app` fixture) and its database engine. The browser is the system's
/usr/bin/chromium: nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, async_playwright

from tests.api.conftest import app, client, demo, runtime

__all__ = ["app", "artifacts", "browser", "client", "demo", "live_url", "runtime"]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
async def live_url(app: FastAPI) -> AsyncIterator[str]:
    """The app on 127.0.0.1 at a free port (the socket is bound first, so no port race)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """Where this test's screenshots go (tests/artifacts/<test name>/, gitignored)."""
    folder = ARTIFACTS / str(request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
