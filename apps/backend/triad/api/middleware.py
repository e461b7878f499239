"""Count every HTTP request and time it, labelled by route template, so labels stay bounded.

A pure ASGI middleware (not `BaseHTTPMiddleware`), so streamed responses pass through untouched
and their latency is measured to the last byte.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from triad import metrics

UNMATCHED = "unmatched"
"""The route label of a request no route matched (a 404 on a made-up path, a scanner)."""


def route_template(scope: Scope) -> str:
    """`/chat/sessions/{session_id}/messages`, never the raw path with its ids."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else UNMATCHED


class MetricsMiddleware:
    """Feeds `triad_http_requests_total` and `triad_http_request_seconds`."""

    def __init__(self, app: ASGIApp, *, clock: Callable[[], float] = time.perf_counter) -> None:
        self.app = app
        self._clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = self._clock()
        status = 500

        async def send_and_see(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_see)
        finally:
            method, route = str(scope["method"]), route_template(scope)
            metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
            metrics.HTTP_LATENCY.labels(method, route).observe(self._clock() - started)
