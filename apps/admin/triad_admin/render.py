"""Jinja2 for the console: one autoescaping environment and a helper that adds the caller."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(("html", "xml"), default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _principal(request: Request) -> Any:
    """The caller if an auth dependency already resolved one for this request, else None."""
    return getattr(request.state, "principal", None)


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render `template` with `principal` and `csrf_token` added, so every form can carry it."""
    values: dict[str, Any] = {"request": request}
    if context:
        values.update(context)
    principal = values.get("principal") or _principal(request)
    values["principal"] = principal
    values.setdefault("csrf_token", getattr(principal, "csrf_token", None) or "")
    html = env.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code)
