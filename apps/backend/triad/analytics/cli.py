"""CLI commands of triad.analytics, added to the `triad` app by `register`."""

from __future__ import annotations

import asyncio
import os
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from triad.analytics.export import DEFAULT_MIN_SCORE, FORMATS, ExportSummary, export_signals
from triad.analytics.rollups import rollup_day
from triad.cli_support import fail, migrated_url
from triad.db.session import make_engine, make_session_factory
from triad.errors import ConfigurationError, InputError
from triad.routing.budget import BudgetConfig
from triad.settings import Settings, get_settings

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def _day(raw: str, option: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise fail(f"{option}: '{raw}' is not a date (use YYYY-MM-DD)") from exc


def _setup() -> tuple[Settings, str, BudgetConfig]:
    settings = get_settings()
    try:
        budgets = BudgetConfig.from_yaml(settings.budgets_config)
    except (ConfigurationError, InputError) as exc:
        raise fail(str(exc)) from exc
    return settings, migrated_url(settings), budgets


def _print_summary(summary: ExportSummary, path: Path) -> None:
    table = Table("outcome", "signals")
    table.add_row("exported", str(summary.exported))
    for source, n in sorted(summary.sources.items()):
        table.add_row(f"  chosen from {source}", str(n))
    for reason, n in sorted(summary.skipped.items()):
        table.add_row(f"skipped: {reason}", str(n))
    out.print(table)
    out.print(f"wrote {summary.exported} lines to {path}")


def register(app: typer.Typer) -> None:
    """Add this package's commands to the `triad` CLI."""

    @app.command("export-signals")
    def export_signals_command(
        path: Annotated[Path, typer.Argument(help="the JSON lines file to write")],
        fmt: Annotated[
            str, typer.Option("--format", help="dpo (prompt/chosen/rejected) or sft")
        ] = "dpo",
        since: Annotated[
            str | None, typer.Option(help="first day (YYYY-MM-DD, business time zone)")
        ] = None,
        min_score: Annotated[
            float, typer.Option(min=0.0, max=1.0, help="the critic score a winner needs")
        ] = DEFAULT_MIN_SCORE,
        tenant: Annotated[str | None, typer.Option(help="tenant (default: TRIAD_TENANT)")] = None,
    ) -> None:
        """Export training signals as DPO or SFT pairs, personal data scrubbed."""
        if fmt not in FORMATS:
            raise fail(f"--format: '{fmt}' is not one of {', '.join(FORMATS)}")
        first = _day(since, "--since") if since else None
        if not path.parent.is_dir():
            raise fail(f"folder '{path.parent}' does not exist")
        settings, url, budgets = _setup()
        start = budgets.midnight(first) if first else None
        partial = path.with_name(path.name + ".partial")

        async def run() -> ExportSummary:
            engine = make_engine(url)
            try:
                with (
                    Progress(
                        TextColumn("[bold]export[/]"),
                        BarColumn(),
                        MofNCompleteColumn(),
                        TimeElapsedColumn(),
                        console=console,
                        transient=True,
                    ) as progress,
                    partial.open("w", encoding="utf-8") as handle,
                ):
                    task = progress.add_task("signals", total=None)

                    def step(done: int, total: int) -> None:
                        progress.update(task, completed=done, total=total)

                    async with make_session_factory(engine)() as session:
                        return await export_signals(
                            session,
                            handle,
                            fmt="dpo" if fmt == "dpo" else "sft",
                            tenant=tenant or settings.tenant,
                            since=start,
                            min_score=min_score,
                            progress=step,
                        )
            finally:
                await engine.dispose()

        try:
            summary = asyncio.run(run())
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, path)
        _print_summary(summary, path)

    @app.command()
    def rollup(
        day: Annotated[str, typer.Option("--date", help="the business day, YYYY-MM-DD")],
        tenant: Annotated[str | None, typer.Option(help="tenant (default: TRIAD_TENANT)")] = None,
    ) -> None:
        """(Re)build one day's win-rate rollups; safe to run again."""
        when = _day(day, "--date")
        settings, url, budgets = _setup()

        async def run() -> int:
            engine = make_engine(url)
            try:
                async with make_session_factory(engine)() as session, session.begin():
                    return await rollup_day(
                        session,
                        tenant=tenant or settings.tenant,
                        day=when,
                        timezone=budgets.timezone,
                    )
            finally:
                await engine.dispose()

        rows = asyncio.run(run())
        out.print(f"{when}: {rows} rollup rows ({budgets.timezone})")
