"""CLI commands of triad.dialogue, added to the `triad` app by `register`.

`triad dialogue run --date YYYY-MM-DD` runs one night by hand; `triad scheduler` is the
dedicated scheduler process (for deployments that set TRIAD_SCHEDULER=false on the API).
Exit codes: 0 done, skipped or nothing to do; 1 the run failed; 2 bad input or configuration.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import date
from typing import Annotated

import typer
from rich.console import Console

from triad.cli_support import fail, migrated_url
from triad.errors import ConfigurationError, InputError

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)
dialogue_app = typer.Typer(help="The nightly LLMDialogue that proposes lessons.")

_COLOURS = {"succeeded": "green", "skipped": "yellow", "failed": "red"}


def _parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"--date must be YYYY-MM-DD, got '{value}'") from exc


@dialogue_app.command("run")
def run(
    day: Annotated[
        str | None, typer.Option("--date", help="business day YYYY-MM-DD (default: yesterday)")
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="tenant id (default: TRIAD_TENANT)")] = None,
) -> None:
    """Run the dialogue for one past day now; a day already done (or running elsewhere) is left
    alone; today or a later day is refused (exit 2), since it is not over."""
    from triad.db.session import make_engine
    from triad.dialogue.config import dialogue_config
    from triad.dialogue.deps import build_deps
    from triad.dialogue.job import RunOutcome, manual_day, run_dialogue
    from triad.knowledge.embedding import get_embedder
    from triad.runtime import build_runtime
    from triad.settings import get_settings

    settings = get_settings()
    try:
        target = manual_day(_parse_day(day), dialogue_config(settings).zone)
    except (InputError, ConfigurationError) as exc:
        raise fail(str(exc)) from exc
    url = migrated_url(settings)

    async def go() -> RunOutcome:
        embedder = get_embedder()
        runtime = build_runtime(settings, embedder)
        engine = make_engine(url)
        try:
            deps = build_deps(runtime, engine, embedder)
            with console.status(f"dialogue for {target}...") as status:

                def step(line: str) -> None:
                    status.update(line)
                    console.print(f"  {line}")

                return await run_dialogue(
                    deps,
                    tenant=tenant or settings.tenant,
                    run_date=target,
                    trigger="manual",
                    progress=step,
                )
        finally:
            await runtime.aclose()
            await engine.dispose()

    try:
        outcome = asyncio.run(go())
    except ConfigurationError as exc:
        raise fail(str(exc)) from exc
    colour = _COLOURS.get(outcome.outcome, "cyan")
    out.print(f"[bold {colour}]{outcome.outcome}[/] {outcome.run_date}: {outcome.message}")
    if outcome.outcome == "failed":
        raise typer.Exit(code=1)


def scheduler() -> None:
    """Run the scheduler in this process until Ctrl-C (the nightly dialogue and nothing else)."""
    from triad.db.session import make_engine
    from triad.dialogue.deps import build_deps
    from triad.dialogue.scheduler import JOB_ID, start_scheduler, stop_scheduler
    from triad.knowledge.embedding import get_embedder
    from triad.runtime import build_runtime
    from triad.settings import get_settings

    settings = get_settings()
    url = migrated_url(settings)

    async def go() -> None:
        embedder = get_embedder()
        runtime = build_runtime(settings, embedder)
        engine = make_engine(url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        deps = build_deps(runtime, engine, embedder)
        running = start_scheduler(deps, tenant=settings.tenant, database_url=url)
        try:
            job = running.get_job(JOB_ID)
            out.print(f"scheduler running; next dialogue at {job.next_run_time if job else '?'}")
            out.print("press Ctrl-C to stop")
            await stop.wait()
        finally:
            await stop_scheduler(running)
            await runtime.aclose()
            await engine.dispose()
        out.print("scheduler stopped")

    try:
        asyncio.run(go())
    except ConfigurationError as exc:
        raise fail(str(exc)) from exc


def register(app: typer.Typer) -> None:
    """Add this package's commands to the `triad` CLI."""
    app.add_typer(dialogue_app, name="dialogue")
    app.command("scheduler")(scheduler)
