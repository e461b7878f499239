"""CLI commands of triad.experiments, added to the `triad` app by `register`.

`triad experiments list | report REF | start REF | pause REF | stop REF | sync`, where REF is
an experiment's id or key. Exit code 2 with a message for an unknown experiment, a
forbidden transition or a bad config file.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from triad.cli_support import run_in_session
from triad.experiments import store
from triad.experiments.report import ExperimentOut, ExperimentReport, build_report
from triad.settings import get_settings

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)
T = TypeVar("T")
Ref = Annotated[str, typer.Argument(help="experiment id or key")]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _arms(exp: ExperimentOut) -> str:
    return ", ".join(f"{a.name} {a.share_percent:g}%" for a in exp.arms)


def print_report(report: ExperimentReport) -> None:
    exp = report.experiment
    reason = f" ({exp.status_reason})" if exp.status_reason else ""
    out.print(
        f"[bold]{exp.key}[/] #{exp.id}  {exp.kind} on {exp.target_kind} '{exp.target}'  "
        f"[bold]{exp.status}[/]{reason}\n{exp.description}\narms: {_arms(exp)}"
    )
    if report.canary is not None:
        c = report.canary
        nxt = f", next {c.next_step_percent:g}%" if c.next_step_percent is not None else ""
        out.print(f"canary at {c.canary_share_percent:g}% (steps {c.steps}{nxt})")
    table = Table(title="per-arm metrics")
    for name in (
        "arm",
        "turns",
        "p50 ms",
        "p95 ms",
        "error",
        "cost/turn",
        "win",
        "halluc.",
        "escal.",
        "thumbs-up",
    ):
        table.add_column(name, justify="left" if name == "arm" else "right")
    for m in report.metrics:
        table.add_row(
            m.arm,
            str(m.turns),
            _ms(m.latency_p50_ms),
            _ms(m.latency_p95_ms),
            f"{_pct(m.error_rate)} ({m.error_n})",
            "-" if m.cost_per_turn_usd is None else f"${m.cost_per_turn_usd:.5f}",
            f"{_pct(m.critic_win_rate)} ({m.critic_win_n})",
            f"{_pct(m.hallucination_rate)} ({m.hallucination_n})",
            f"{_pct(m.escalation_rate)} ({m.escalation_n})",
            f"{_pct(m.thumbs_up_rate)} ({m.thumbs_up_n})",
        )
    out.print(table)
    if report.comparisons:
        versus = Table(
            title=f"against the baseline (alpha {report.alpha:g}, power {report.power:g}, "
            f"min. effect {report.min_detectable_effect:g})"
        )
        ci = f"{(1 - report.alpha) * 100:g}% CI"
        for name in ("arm", "metric", "diff", ci, "p", "n needed", "call"):
            versus.add_column(name)
        for cmp in report.comparisons:
            versus.add_row(
                cmp.arm,
                cmp.metric,
                f"{cmp.diff:+.1%}",
                f"[{cmp.ci_low:+.1%}, {cmp.ci_high:+.1%}]",
                f"{cmp.p_value:.3f}",
                str(cmp.required_n_per_arm),
                cmp.verdict,
            )
        out.print(versus)
    for event in report.events[:10]:
        detail = event.detail.get("reason") or ""
        out.print(f"{event.created_at:%Y-%m-%d %H:%M} {event.kind} {detail}")


def register(app: typer.Typer) -> None:
    """Add this package's commands to the `triad` CLI."""
    group = typer.Typer(help="A/B tests and canary rollouts of models and prompts.")
    app.add_typer(group, name="experiments")

    @group.command("list")
    def list_() -> None:
        """Every experiment, its status and its arms' current shares."""
        rows = run_in_session(store.list_experiments)
        table = Table("id", "key", "kind", "target", "status", "arms")
        for row in rows:
            exp = ExperimentOut.of(row)
            table.add_row(
                str(exp.id),
                exp.key,
                exp.kind,
                f"{exp.target_kind}:{exp.target}",
                exp.status,
                _arms(exp),
            )
        out.print(table)

    @group.command()
    def report(ref: Ref) -> None:
        """Per-arm metrics and significance against the baseline (says when it is too early)."""

        async def work(session: AsyncSession) -> ExperimentReport:
            return await build_report(session, ref)

        print_report(run_in_session(work))

    def _transition(ref: str, action: str) -> None:
        async def work(session: AsyncSession) -> ExperimentOut:
            row = await store.transition(session, ref, action, actor="cli")
            return ExperimentOut.of(row)

        exp = run_in_session(work)
        out.print(f"experiment {exp.key} is {exp.status}; arms: {_arms(exp)}")

    @group.command()
    def start(ref: Ref) -> None:
        """Run a draft, resume a paused one, or restart a rolled-back canary."""
        _transition(ref, "start")

    @group.command()
    def pause(ref: Ref) -> None:
        """Send everyone to the baseline for now."""
        _transition(ref, "pause")

    @group.command()
    def stop(ref: Ref) -> None:
        """End the experiment for good."""
        _transition(ref, "stop")

    @group.command()
    def sync() -> None:
        """Sync config/experiments.yaml into the database (the API also does it at start)."""
        from triad.agents.rules import load_rules
        from triad.providers.registry import ModelRegistry

        settings = get_settings()

        async def work(session: AsyncSession) -> list[str]:
            registry = ModelRegistry.from_yaml(settings.models_config)
            agents = load_rules(settings.tenant_dir).agents
            config = store.load_checked(settings.experiments_config, registry, agents)
            return await store.sync_experiments(session, config)

        changed = run_in_session(work)
        out.print(f"synced; changed: {', '.join(changed) or 'nothing'}")
