"""A tiny scriptable HTTP server on 127.0.0.1 that plays a misbehaving provider.

Tests enqueue `Reply`s (a status, headers and body, optionally after a hang) and read back
`requests` to count exactly how many calls reached "upstream". It runs on threads, so it works
with any client, sync or async, and needs no network beyond loopback.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang_s: float = 0.0

    @classmethod
    def json(cls, body: object, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(
            status,
            json.dumps(body).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )

    @classmethod
    def error(
        cls,
        status: int,
        message: str = "upstream error",
        kind: str = "api_error",
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """An error body every SDK can read: `{"type": "error", "error": {"type", "message"}}`."""
        body = {"type": "error", "error": {"type": kind, "code": kind, "message": message}}
        return cls.json(body, status, headers)

    @classmethod
    def rate_limited(cls, retry_after: str = "7", header: str = "Retry-After") -> Reply:
        return cls.error(429, "slow down", "rate_limit_error", {header: retry_after})

    @classmethod
    def rate_limited_until(cls, epoch_seconds: float) -> Reply:
        """429 whose Retry-After is an HTTP date rather than a number of seconds."""
        return cls.rate_limited(formatdate(epoch_seconds, usegmt=True))

    @classmethod
    def hang(cls, seconds: float = 10.0) -> Reply:
        """Say nothing for `seconds` (released early when the server stops)."""
        return cls(200, b"{}", {"Content-Type": "application/json"}, hang_s=seconds)

    @classmethod
    def not_json(cls, content_type: str = "application/json") -> Reply:
        """200 whose body is not JSON at all (a truncated body, or a proxy's HTML page)."""
        return cls(200, b"<html>oops, not json{", {"Content-Type": content_type})

    @classmethod
    def wrong_shape(cls) -> Reply:
        """200 with valid JSON that follows no provider's protocol."""
        return cls.json({"unexpected": True, "choices": "none"})


@dataclass(frozen=True)
class RecordedRequest:
    """What one call sent, for assertions."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class LoopbackServer:
    """Start with `with LoopbackServer() as server:` or `start()`/`stop()`."""

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply.error(404, "no reply scripted", "not_found_error")
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def enqueue(self, *replies: Reply) -> Self:
        """Replies served in order; once used up, `default` answers."""
        with self._lock:
            self._queue.extend(replies)
        return self

    def always(self, reply: Reply) -> Self:
        self.default = reply
        return self

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def _next(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            return self._queue.popleft() if self._queue else self.default

    def start(self) -> Self:
        handler = _make_handler(self)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="loopback", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd, self._thread = None, None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _make_handler(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            recorded = RecordedRequest(
                self.command,
                self.path.split("?")[0],
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            reply = server._next(recorded)
            if reply.hang_s and server._stopping.wait(reply.hang_s):
                return
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test); nothing to answer

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
