"""`triad serve` as a subprocess on a port it picks itself, for tests and benchmarks."""

from __future__ import annotations

import asyncio
import re

from triad.settings import PROJECT_ROOT

SERVING = re.compile(r"serving on http://127\.0\.0\.1:(\d+) \(OpenAPI at /docs\)")
"""The first line `triad serve` prints: where it listens."""


async def start_server(environ: dict[str, str]) -> tuple[asyncio.subprocess.Process, int]:
    """`triad serve --port 0` (the knowledge already ingested); the port it printed. A first
    line of any other shape kills the server and fails with what it said."""
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
    match = SERVING.match(line)
    if not match:
        server.kill()
        await server.wait()
        raise AssertionError(f"triad serve said: {line!r}")
    return server, int(match.group(1))
