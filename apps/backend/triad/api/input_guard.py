"""One check on everything a request carries, before any route, model or database sees it.

PostgreSQL refuses a NUL in text and a number beyond its column; JSON lets a client send a lone
UTF-16 surrogate that no UTF-8 encoder (the database's or our own error body's) accepts. Left to
the routes, each of these became a 500, sometimes after a whole ensemble had run. Here the
request is read once, up to a size limit (413 beyond it, before parsing), and its path, query,
headers and JSON or form body are walked: a control character, a lone surrogate, a JSON integer
no bigint column holds, or JSON nested too deep is a 422 that names where it is; path ids are
typed `DbId`, so one beyond a bigint is a 422 too. The message never repeats the offending
input, so the error body always encodes.

A pure ASGI middleware: the body it has read is replayed to the app unchanged, and streamed
responses pass through untouched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from triad.api.errors import ErrorShape, error_response

BIGINT_MAX = 2**63 - 1
"""The largest id any table holds (every id column is a PostgreSQL bigint)."""

DEFAULT_MAX_BODY_BYTES = 512 * 1024
MAX_DEPTH = 64
"""JSON nested deeper than this is refused (no API shape nests more than a few levels)."""

DbId = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="a row id (1 to 2^63-1)")]
"""A path id the database can look up: beyond bigint it is a 422, not a database error."""

# C0 controls but tab, line feed and carriage return; DEL; C1 controls; lone surrogates.
_BAD_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_BAD_HEADER = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class InputRejected(Exception):
    """A request part that cannot reach the database: `where` it is and what is wrong."""

    def __init__(self, where: str, problem: str, *, status: int = 422) -> None:
        self.where = where
        self.problem = problem
        self.status = status
        super().__init__(f"{where}: {problem}" if where else problem)


def describe_char(char: str) -> str:
    """`a NUL character (U+0000)`: names a character without printing it."""
    code = ord(char)
    if code == 0:
        return "a NUL character (U+0000)"
    if 0xD800 <= code <= 0xDFFF:
        return f"a lone UTF-16 surrogate (U+{code:04X})"
    return f"a control character (U+{code:04X})"


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored as text, or None when it can."""
    found = _BAD_TEXT.search(value)
    if found is None:
        return None
    char = found.group()
    rule = (
        "a lone surrogate is not valid Unicode text"
        if 0xD800 <= ord(char) <= 0xDFFF
        else "text may hold no control characters but tab, line feed and carriage return"
    )
    return f"contains {describe_char(char)} at position {found.start()}; {rule}"


def int_problem(value: int) -> str | None:
    """Why an integer cannot be stored in a bigint column, or None when it can."""
    if -BIGINT_MAX - 1 <= value <= BIGINT_MAX:
        return None
    return f"the number is out of range: it must be between {-BIGINT_MAX - 1} and {BIGINT_MAX}"


def _loc(parts: tuple[str | int, ...]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def walk_json(
    value: Any, where: tuple[str | int, ...] = ("body",), depth: int = 0
) -> Iterator[InputRejected]:
    """Every string (keys too) and integer in a parsed JSON document that cannot be stored,
    in document order."""
    if depth > MAX_DEPTH:
        yield InputRejected(_loc(where), f"JSON nested more than {MAX_DEPTH} levels deep")
    elif isinstance(value, str):
        if problem := text_problem(value):
            yield InputRejected(_loc(where), problem)
    elif isinstance(value, int) and not isinstance(value, bool):
        if problem := int_problem(value):
            yield InputRejected(_loc(where), problem)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk_json(item, (*where, i), depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            if problem := text_problem(key):
                yield InputRejected(_loc(where), f"a key {problem}")
            else:
                yield from walk_json(item, (*where, key), depth + 1)


def _check_pairs(pairs: list[tuple[str, str]], where: str) -> None:
    for key, value in pairs:
        if problem := text_problem(key):
            raise InputRejected(where, f"a parameter name {problem}")
        if problem := text_problem(value):
            raise InputRejected(f"{where}.{key}", problem)


def check_path(path: str) -> None:
    """The decoded path: no control characters. An id in it is checked by its type (`DbId`):
    a digit segment may also be a key (an experiment's), which no bigint limit applies to."""
    if problem := text_problem(path):
        raise InputRejected("path", problem)


def check_query(query_string: bytes) -> None:
    """Query parameters as Starlette will decode them."""
    if query_string:
        _check_pairs(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True), "query")


def check_headers(headers: list[tuple[bytes, bytes]]) -> None:
    """Header values are stored (the user agent of a session): no control characters."""
    for name, value in headers:
        if found := _BAD_HEADER.search(value.decode("latin-1")):
            raise InputRejected(
                f"header.{name.decode('latin-1')}", f"contains {describe_char(found.group())}"
            )


def check_body(body: bytes, content_type: str) -> None:
    """A JSON or URL-encoded form body; other media types are left to the route."""
    if not body:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputRejected("body", f"not valid UTF-8 (byte {exc.start})") from None
        _check_pairs(parse_qsl(text, keep_blank_values=True), "body")
        return
    is_json = media == "application/json" or media.endswith("+json")
    if not is_json and media:
        return
    try:
        document = json.loads(body)
    except RecursionError:
        raise InputRejected("body", f"JSON nested more than {MAX_DEPTH} levels deep") from None
    except UnicodeDecodeError as exc:
        raise InputRejected("body", f"not valid UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        if not is_json:
            return  # no content type and not JSON: the route decides what it is
        raise InputRejected(
            "body", f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    for problem in walk_json(document):
        raise problem


class InputGuardMiddleware:
    """Refuses, before routing, a body over `max_body_bytes` (413) and input that cannot be
    stored (422); everything else reaches the app as it came."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        try:
            check_path(path)
            check_query(bytes(scope.get("query_string", b"")))
            check_headers(list(scope.get("headers", [])))
            headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", [])}
            declared = headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
                raise self._too_large()
            body, more = await self._read(receive)
            check_body(body, headers.get("content-type", b"").decode("latin-1"))
        except InputRejected as exc:
            shape: ErrorShape = "openai" if path == "/v1" or path.startswith("/v1/") else "triad"
            response = error_response(exc.status, exc.where, exc.problem, shape=shape)
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive() if more else {"type": "http.disconnect"}

        await self.app(scope, replay, send)

    def _too_large(self) -> InputRejected:
        return InputRejected(
            "body", f"the request body is larger than {self.max_bytes} bytes", status=413
        )

    async def _read(self, receive: Receive) -> tuple[bytes, bool]:
        """The whole body, refused as soon as it passes the limit (chunked bodies included).
        The flag says whether the client is still connected to send later messages."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks), False
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), True
