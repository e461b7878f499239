"""The `triad` command: serve the API, migrate, ingest knowledge, search it, list models.

Exit codes: 0 success, 2 bad input or configuration (with a message naming what is wrong).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from triad.analytics import cli as analytics_cli
from triad.auth import cli as auth_cli
from triad.cli_support import fail, migrated_url
from triad.conversations.service import TurnOutcome
from triad.db import migrate as db_migrate
from triad.db.embedded import ensure_database
from triad.db.session import make_engine, make_session_factory
from triad.dialogue import cli as dialogue_cli
from triad.errors import ConfigurationError, InputError
from triad.experiments import cli as experiments_cli
from triad.knowledge.embedding import get_embedder
from triad.knowledge.ingest import IngestEvent, IngestReport, ingest_with_settings
from triad.knowledge.retrieval import retrieve
from triad.settings import Settings, get_settings

app = typer.Typer(help="Triad: customer-facing AI agents that never trust a single LLM.")
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def _database_url(settings: Settings) -> str:
    try:
        return ensure_database(settings)
    except ConfigurationError as exc:
        raise fail(str(exc)) from exc


async def _ingest(
    settings: Settings, url: str, path: Path, tenant: str, *, replace: bool = True
) -> IngestReport:
    engine = make_engine(url)
    try:
        with Progress(
            TextColumn("[bold]ingest[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("files", total=None)

            def step(event: IngestEvent) -> None:
                progress.update(task, advance=1, description=f"{event.source} ({event.status})")

            async with make_session_factory(engine)() as session:
                return await ingest_with_settings(
                    session,
                    settings,
                    get_embedder(),
                    path=path,
                    tenant=tenant,
                    progress=step,
                    replace=replace,
                )
    finally:
        await engine.dispose()


def _print_report(report: IngestReport) -> None:
    if report.version_changed:
        out.print(
            f"knowledge version {report.version}: {len(report.added)} added, "
            f"{len(report.changed)} changed, {len(report.removed)} removed, "
            f"{len(report.unchanged)} unchanged ({report.chunks_written} chunks written)"
        )
    else:
        out.print(
            f"knowledge version {report.version}: nothing changed "
            f"({len(report.unchanged)} files unchanged)"
        )


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="target revision")] = "head",
) -> None:
    """Apply Alembic migrations (the only way the schema is made)."""
    db_migrate.upgrade(_database_url(get_settings()), revision)
    out.print(f"database at revision {revision}")


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="a folder of markdown files, or one .md file")],
    tenant: Annotated[str | None, typer.Option(help="tenant id (default: TRIAD_TENANT)")] = None,
    replace: Annotated[
        bool | None,
        typer.Option(
            "--replace/--add",
            help="--replace: PATH becomes the whole knowledge base (documents not in it are "
            "removed); --add: add or update PATH's files, remove nothing. "
            "Default for a folder: --replace; a single file needs one of them.",
        ),
    ] = None,
) -> None:
    """Ingest a knowledge base idempotently: unchanged files are skipped by content hash."""
    settings = get_settings()
    if not path.exists():
        raise fail(f"path '{path}' does not exist")
    tenant = tenant or settings.tenant
    if path.is_file() and replace is None:
        raise fail(
            f"'{path}' is one file: say --add to add (or update) it next to the current "
            f"knowledge of tenant '{tenant}', or --replace to make it the whole knowledge base"
        )
    url = migrated_url(settings)
    try:
        report = asyncio.run(_ingest(settings, url, path, tenant, replace=replace is not False))
    except InputError as exc:
        raise fail(str(exc)) from exc
    _print_report(report)
    if replace is False:
        folder = settings.tenants_dir / tenant / "knowledge"
        out.print(
            f"added, nothing removed. Note: `triad serve` (and `make run`) ingests {folder} "
            "with --replace when it starts, which removes documents that are not in that "
            "folder; copy the file there to keep it."
        )
    elif report.removed:
        out.print(f"removed (not in {path}): {', '.join(report.removed)}")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="the question")],
    source: Annotated[
        list[str] | None, typer.Option(help="limit to these sources (names or globs)")
    ] = None,
    k: Annotated[int, typer.Option(min=1, max=50)] = 5,
) -> None:
    """Show what hybrid retrieval returns for a question."""
    settings = get_settings()
    url = _database_url(settings)

    async def run() -> None:
        engine = make_engine(url)
        try:
            async with make_session_factory(engine)() as session:
                passages = await retrieve(
                    session,
                    query,
                    tenant=settings.tenant,
                    embedder=get_embedder(),
                    sources=source,
                    k=k,
                )
        finally:
            await engine.dispose()
        table = Table("#", "score", "source", "heading", "text")
        for i, p in enumerate(passages, 1):
            table.add_row(str(i), f"{p.score:.4f}", p.source, p.heading_path, p.text[:120])
        out.print(table)

    try:
        asyncio.run(run())
    except InputError as exc:
        raise fail(str(exc)) from exc


def _print_turn(turn: TurnOutcome) -> None:
    result = turn.result
    out.print(
        f"[bold]agent[/]: {result.agent}    knowledge v{result.knowledge_version}    "
        f"prompt {result.prompt_version}"
    )
    critic = result.critic
    for outcome in result.outcomes:
        title = f"[bold]{outcome.role}[/] ({outcome.model_id}, {outcome.latency_ms:.0f} ms)"
        if outcome.completion is None:
            out.print(f"{title}: [red]failed[/] {outcome.error_type}: {outcome.error}")
            continue
        verdict = critic.verdicts.get(outcome.role) if critic else None
        score = f" score {verdict.score:.2f}" if verdict else ""
        out.print(f"{title}{score}\n  {outcome.completion.text.strip()}")
        for claim in verdict.claims if verdict else []:
            colour = {"supported": "green", "unverifiable": "yellow"}.get(claim.status, "red")
            out.print(f"    [{colour}]{claim.status:>12}[/] {claim.text!r} - {claim.reason}")
    if critic is not None:
        out.print(f"[bold]consensus[/] {critic.consensus:.2f}   [bold]winner[/] {critic.winner}")
        out.print(f"[bold]rationale[/] {critic.rationale}")
    out.print(
        f"[bold]decision[/] {result.decision}"
        + (f" ({result.escalation_reason})" if result.escalation_reason else "")
    )
    out.print(f"[bold]reply[/] {result.reply}")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="a customer question")],
    agent: Annotated[
        str | None, typer.Option(help="booking | menu | pricing (default: auto)")
    ] = None,
) -> None:
    """Answer one customer question through the whole ensemble and show every verdict."""
    from triad.conversations.service import answer_turn, create_conversation
    from triad.runtime import build_runtime

    settings = get_settings()
    url = migrated_url(settings)
    if settings.knowledge_dir.exists():
        asyncio.run(_ingest(settings, url, settings.knowledge_dir, settings.tenant))

    async def run() -> TurnOutcome:
        embedder = get_embedder()
        runtime = build_runtime(settings, embedder)
        engine = make_engine(url)
        try:
            async with make_session_factory(engine)() as session:
                conversation, _ = await create_conversation(
                    session, tenant=settings.tenant, agent=agent, customer_ref="cli"
                )
                with console.status("teacher and student are answering..."):
                    return await answer_turn(
                        session,
                        conversation=conversation,
                        text=question,
                        agent=agent,
                        ensemble=runtime.ensemble,
                        selector=runtime.selector,
                        lesson_limit=runtime.prompt_lessons,
                        embedder=embedder,
                        user_id="cli",
                    )
        finally:
            await runtime.aclose()
            await engine.dispose()

    try:
        turn = asyncio.run(run())
    except (InputError, ConfigurationError) as exc:
        raise fail(str(exc)) from exc
    _print_turn(turn)


WIDE_MODELS_TABLE = 110
"""Below this many columns `triad models` prints two lines per model instead of a table."""


def _context(tokens: int | None) -> str:
    if not tokens:
        return "-"
    return f"{tokens // 1000}k" if tokens >= 1000 else str(tokens)


@app.command()
def models() -> None:
    """List the model registry and which models lack their key variable."""
    from triad.api.routes.models import describe
    from triad.providers.registry import ModelRegistry

    try:
        registry = ModelRegistry.from_yaml(get_settings().models_config)
    except ConfigurationError as exc:
        raise fail(str(exc)) from exc
    infos = [describe(spec) for spec in registry]
    screen = Console(soft_wrap=True)  # measured now, so COLUMNS and resizes count
    if screen.width < WIDE_MODELS_TABLE:
        for info in infos:
            status = "ready" if info.configured else f"needs {info.missing_env}"
            screen.print(f"[bold]{info.id}[/]  {status}", highlight=False)
            screen.print(
                f"  {info.kind}, {info.tier}, ${info.input_price_per_mtok:g} in / "
                f"${info.output_price_per_mtok:g} out per M tokens, "
                f"context {_context(info.context_window)}",
                highlight=False,
            )
        return
    table = Table()
    table.add_column("id", no_wrap=True)
    for name in ("kind", "tier", "$/M in", "$/M out", "context"):
        table.add_column(name, no_wrap=True)
    table.add_column("status", no_wrap=True)
    for info in infos:
        status = "ready" if info.configured else f"set {info.missing_env}"
        table.add_row(
            info.id,
            info.kind,
            info.tier,
            f"{info.input_price_per_mtok:g}",
            f"{info.output_price_per_mtok:g}",
            _context(info.context_window),
            status,
        )
    screen.print(table)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="port (default TRIAD_PORT or 8000; 0: any free one)"),
    ] = None,
    ingest_demo: Annotated[bool, typer.Option(help="ingest the tenant's knowledge first")] = True,
) -> None:
    """Start the database, migrate, ingest the tenant's knowledge and serve the API."""
    import uvicorn

    from triad.api import create_app

    settings = get_settings()
    url = migrated_url(settings)
    if ingest_demo and settings.knowledge_dir.exists():
        _print_report(asyncio.run(_ingest(settings, url, settings.knowledge_dir, settings.tenant)))
    bind_host = host or settings.host
    bind_port = settings.port if port is None else port
    # Bind first, so `--port 0` (any free port) prints the port it really got.
    family = socket.AF_INET6 if ":" in bind_host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((bind_host, bind_port))
    except OSError as exc:
        sock.close()
        raise fail(
            f"cannot listen on {bind_host}:{bind_port}: {exc.strerror or exc}; "
            "choose another with --port (or `make run PORT=...`)"
        ) from exc
    bound = sock.getsockname()[1]
    out.print(f"serving on http://{bind_host}:{bound} (OpenAPI at /docs)")
    config = uvicorn.Config(create_app(settings, database_url=url), host=bind_host, port=bound)
    uvicorn.Server(config).run(sockets=[sock])


analytics_cli.register(app)
auth_cli.register(app)
auth_cli.register_keys(app)
dialogue_cli.register(app)
experiments_cli.register(app)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
