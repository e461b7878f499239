"""What every `triad` sub-command shares: one way to fail, and one way to reach the database.

A command's expected failures (bad input, unknown ids, conflicts, configuration) print one red
line and exit with code 2; the database is the configured one (embedded when DATABASE_URL is
unset), migrated first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from triad.db import migrate as db_migrate
from triad.db.embedded import ensure_database
from triad.db.session import make_engine, make_session_factory
from triad.errors import ConfigurationError, ConflictError, InputError, NotFoundError
from triad.settings import Settings, get_settings

T = TypeVar("T")
err = Console(stderr=True, soft_wrap=True)
EXPECTED = (ConfigurationError, InputError, ConflictError, NotFoundError)


def fail(message: str) -> typer.Exit:
    """Print the message and return the Exit (code 2) to raise."""
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=2)


def migrated_url(settings: Settings) -> str:
    """The configured database, created if embedded and migrated to head."""
    try:
        url = ensure_database(settings)
        db_migrate.upgrade(url)
    except ConfigurationError as exc:
        raise fail(str(exc)) from exc
    return url


def run_in_session(
    work: Callable[[AsyncSession], Awaitable[T]], settings: Settings | None = None
) -> T:
    """Run `work` in one session on the configured (migrated) database; expected errors exit 2."""
    url = migrated_url(settings or get_settings())

    async def go() -> T:
        engine = make_engine(url)
        try:
            async with make_session_factory(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except EXPECTED as exc:
        raise fail(str(exc)) from exc
