"""The console's HTML pages (server-rendered with Jinja2; charts are server-side SVG)."""

from __future__ import annotations

from fastapi import APIRouter

from triad_admin import admin_pages, chat_page, experiments_page, staff_pages

router = APIRouter(include_in_schema=False)
router.include_router(chat_page.router)
router.include_router(staff_pages.router)
router.include_router(admin_pages.router)
router.include_router(experiments_page.router)
