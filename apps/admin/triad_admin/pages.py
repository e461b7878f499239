"""The console's HTML pages (server-rendered with Jinja2; charts are server-side SVG)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
