"""Jinja2 for the console: one autoescaping environment and a helper that adds the caller.

Times are stored in UTC but the console's date ranges are business days (config/budgets.yaml
`timezone`), so the `localtime` filter shows every timestamp in that same zone, with its
abbreviation, to keep "opened 18:05 PDT" and "today" on the same clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape

from triad.routing.budget import BudgetConfig

TEMPLATES = Path(__file__).parent / "templates"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(("html", "xml"), default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


DEFAULT_TIME_FORMAT = "%Y-%m-%d %H:%M %Z"


@lru_cache(maxsize=8)
def _zone_from(path: Path, mtime_ns: int) -> tzinfo:
    """The budgets file's zone; keyed by mtime so an edited file is read again."""
    return BudgetConfig.from_yaml(path).zone


def business_zone(request: Request) -> tzinfo:
    """The business time zone from the app's budgets config (UTC when there is none)."""
    settings = getattr(request.app.state, "settings", None)
    path = getattr(settings, "budgets_config", None)
    if path is None or not Path(path).exists():
        return UTC
    return _zone_from(Path(path), Path(path).stat().st_mtime_ns)


@pass_context
def localtime(context: Context, value: datetime | None, fmt: str = DEFAULT_TIME_FORMAT) -> Markup:
    """A <time> element showing `value` in the business zone; naive values are taken as UTC."""
    if value is None:
        return Markup("")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    zone = context.get("business_zone") or UTC
    shown = value.astimezone(zone).strftime(fmt)
    iso = value.astimezone(UTC).isoformat()
    return Markup('<time datetime="{}">{}</time>').format(iso, escape(shown))


env.filters["localtime"] = localtime


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
    values.setdefault("business_zone", business_zone(request))
    html = env.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code)
