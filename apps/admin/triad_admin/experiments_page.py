"""Admin console: experiments, and one experiment's report with a chart per metric.

The page reads the same report as `GET /admin/api/experiments/{id}`; every chart has one bar
per arm and the numbers sit in a table beside it. Status changes go through the admin API
(or `triad experiments start|pause|stop`).
"""

from __future__ import annotations

from collections.abc import Callable

import pygal
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from triad.api.deps import AdminPage, SessionDep
from triad.experiments import store
from triad.experiments.report import ArmMetricsOut, ExperimentOut, build_report
from triad_admin import charts
from triad_admin.render import render

router = APIRouter(prefix="/admin/experiments", include_in_schema=False)

Getter = Callable[[ArmMetricsOut], float | None]
METRICS: list[tuple[str, str, Getter, bool]] = [
    ("turns", "Turns", lambda m: float(m.turns), False),
    ("latency_p50_ms", "p50 latency (ms)", lambda m: m.latency_p50_ms, False),
    ("latency_p95_ms", "p95 latency (ms)", lambda m: m.latency_p95_ms, False),
    ("error_rate", "Error rate", lambda m: m.error_rate, True),
    ("cost_per_turn_usd", "Cost per turn (USD)", lambda m: m.cost_per_turn_usd, False),
    ("critic_win_rate", "Critic win rate", lambda m: m.critic_win_rate, True),
    ("hallucination_rate", "Hallucination rate", lambda m: m.hallucination_rate, True),
    ("escalation_rate", "Escalation rate", lambda m: m.escalation_rate, True),
    ("thumbs_up_rate", "Thumbs-up rate", lambda m: m.thumbs_up_rate, True),
]


def arm_chart(
    title: str, arms: list[str], values: list[float | None], percent: bool
) -> Markup | None:
    """One bar per arm; None (a "no data yet" note) when no arm has a value, or when every
    value of a count or duration is zero (an axis with nothing on it says nothing)."""
    if all(v is None for v in values):
        return None
    if not percent and all(not v for v in values):
        return None
    formatter: Callable[[float], str] = (lambda v: f"{v:.1%}") if percent else (lambda v: f"{v:g}")
    chart = pygal.Bar(
        title=title,
        js=[],
        disable_xml_declaration=True,
        style=charts.STYLE,
        height=300,
        width=500,
        show_legend=False,
        value_formatter=formatter,
    )
    if percent:
        chart.range = (0, 1)
    chart.x_labels = arms
    chart.add(title, values)
    svg: str = chart.render(is_unicode=True)
    label = title.replace('"', "'")
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1))


@router.get("")
async def experiments(request: Request, principal: AdminPage, session: SessionDep) -> HTMLResponse:
    """Every experiment: status, target and arms' shares."""
    rows = [ExperimentOut.of(row) for row in await store.list_experiments(session)]
    return render(request, "experiments.html", {"principal": principal, "experiments": rows})


@router.get("/{ref}")
async def experiment(
    ref: str, request: Request, principal: AdminPage, session: SessionDep
) -> HTMLResponse:
    """One experiment's report: a chart per metric, the comparisons, canary state, events."""
    report = await build_report(session, ref)
    names = [m.arm for m in report.metrics]
    traffic = any(m.turns for m in report.metrics)  # no turn yet: no rate means anything
    figures = [
        {
            "key": key,
            "title": title,
            "percent": percent,
            "chart": arm_chart(title, names, [get(m) for m in report.metrics], percent)
            if traffic
            else None,
            "values": [(m.arm, get(m)) for m in report.metrics],
        }
        for key, title, get, percent in METRICS
    ]
    return render(
        request,
        "experiment.html",
        {"principal": principal, "report": report, "figures": figures},
    )
