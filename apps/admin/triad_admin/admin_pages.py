"""Admin console: dashboard charts, lessons review, costs, provider health, feature flags.

Pages call the analytics, dialogue and flag services directly (not over HTTP); charts are
pygal SVG with the same numbers in a table next to them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from triad import errors, flags
from triad.analytics.charts import consensus_histogram, disagreements, provider_health
from triad.analytics.effects import MEASURES, LessonEffect, approved_effects
from triad.analytics.winrates import WinRateRow, win_rates
from triad.api.deps import AdminPage, EmbedderDep, RuntimeDep, SessionDep, SettingsDep
from triad.api.input_guard import DbId
from triad.db.models import Escalation, Lesson, TrainingSignal
from triad.dialogue import lessons as lesson_service
from triad.routing.budget import BudgetConfig
from triad.routing.costs import GROUP_FIELDS, CostRow, cost_report, report_range
from triad.settings import Settings
from triad_admin import charts
from triad_admin.render import render
from triad_admin.staff_pages import error_page

router = APIRouter(prefix="/admin")

Days = Annotated[int, Query(ge=1, le=366, description="how many days back, today included")]
LESSON_STATUSES = ("proposed", "approved", "rejected", "all")
DONE_MESSAGES = {
    "approved": "Lesson approved: both models read it from the next turn on.",
    "rejected": "Lesson rejected.",
    "edited": "Lesson saved.",
    "flag": "Flag saved.",
}


def _range(settings: Settings, days: int) -> tuple[date, date, str]:
    """The last `days` business days (the budgets' time zone), today included."""
    budgets = BudgetConfig.from_yaml(settings.budgets_config)
    start, end = report_range(budgets, None, None, days)
    return start, end, budgets.timezone


def _day_labels(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _series(
    rows: list[WinRateRow], days: list[date], name: Any, value: Any
) -> dict[str, list[float | None]]:
    """One series per `name(row)` over `days`; missing days are gaps."""
    by_name: dict[str, dict[date, float | None]] = defaultdict(dict)
    for row in rows:
        if row.day is not None:
            by_name[name(row)][row.day] = value(row)
    return {n: [points.get(d) for d in days] for n, points in sorted(by_name.items())}


@router.get("")
async def dashboard(
    request: Request,
    principal: AdminPage,
    session: SessionDep,
    settings: SettingsDep,
    runtime: RuntimeDep,
    days: Days = 30,
    below: Annotated[
        float | None,
        Query(ge=0, le=1, description="disagreement threshold; default: the escalation one"),
    ] = None,
) -> HTMLResponse:
    """Win rates and hallucination rates over time, consensus histogram, disagreements."""
    start, end, timezone = _range(settings, days)
    span = _day_labels(start, end)
    labels = [d.isoformat() for d in span]
    tenant = settings.tenant
    by_model = await win_rates(
        session,
        group_by=("day", "provider", "role", "agent"),
        start=start,
        end=end,
        tenant=tenant,
        timezone=timezone,
    )
    by_role = await win_rates(
        session, group_by=("day", "role"), start=start, end=end, tenant=tenant, timezone=timezone
    )
    wins = _series(
        by_model, span, lambda r: f"{r.provider} · {r.role} · {r.agent}", lambda r: r.win_rate
    )
    halluc = _series(by_role, span, lambda r: str(r.role), lambda r: r.hallucination_rate)
    bins = await consensus_histogram(
        session, bins=10, start=start, end=end, tenant=tenant, timezone=timezone
    )
    if below is None:
        below = runtime.config.consensus_threshold
    recent = await disagreements(session, tenant=settings.tenant, below=below, limit=20)
    totals = await win_rates(
        session,
        group_by=("provider", "role", "agent"),
        start=start,
        end=end,
        tenant=tenant,
        timezone=timezone,
    )
    return render(
        request,
        "admin/dashboard.html",
        {
            "principal": principal,
            "start": start,
            "end": end,
            "days": days,
            "below": below,
            "win_chart": charts.line_chart(
                "Win rate per provider, role and agent", labels, wins, percent=True
            ),
            "halluc_chart": charts.line_chart(
                "Hallucination rate per role (answers with an unsupported claim)",
                labels,
                halluc,
                percent=True,
            ),
            "hist_chart": charts.bar_chart(
                "Consensus score distribution",
                [f"{b.lower:.1f} to {b.upper:.1f}" for b in bins],
                [b.turns for b in bins],
                y_title="turns",
            ),
            "win_rows": by_model,
            "role_rows": by_role,
            "totals": totals,
            "bins": bins,
            "disagreements": recent,
        },
    )


@router.get("/lessons", response_model=None)
async def lessons(
    request: Request,
    principal: AdminPage,
    session: SessionDep,
    settings: SettingsDep,
    status: Annotated[str, Query(max_length=16)] = "proposed",
    done: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """Lessons by status, with their evidence linked to the turns they came from, and for an
    approved lesson its error rate before and since approval."""
    if status not in LESSON_STATUSES:
        exc = errors.InputError(
            f"unknown lesson status '{status}'; use one of {', '.join(LESSON_STATUSES)}"
        )
        return error_page(request, exc, back="/admin/lessons")
    rows = await lesson_service.list_lessons(
        session, tenant=settings.tenant, status=None if status == "all" else status, limit=200
    )
    evidence = await _evidence_turns(session, rows)
    effects: dict[int, LessonEffect] = {}
    if any(r.status == "approved" for r in rows):
        effects = {e.lesson_id: e for e in await approved_effects(session, tenant=settings.tenant)}
    return render(
        request,
        "admin/lessons.html",
        {
            "principal": principal,
            "lessons": rows,
            "status": status,
            "statuses": LESSON_STATUSES,
            "evidence": evidence,
            "effects": effects,
            "measures": MEASURES,
            "flash": DONE_MESSAGES.get(done or ""),
        },
    )


async def _evidence_turns(
    session: Any, rows: list[Lesson]
) -> dict[int, list[tuple[int, int | None]]]:
    """Lesson id -> (message id, escalation id or None) of each evidence training signal."""
    signal_ids = {int(i) for lesson in rows for i in lesson.evidence_signal_ids or []}
    if not signal_ids:
        return {}
    messages = dict(
        (
            await session.execute(
                select(TrainingSignal.id, TrainingSignal.message_id).where(
                    TrainingSignal.id.in_(signal_ids)
                )
            )
        ).all()
    )
    escalations = dict(
        (
            await session.execute(
                select(Escalation.message_id, Escalation.id).where(
                    Escalation.message_id.in_(set(messages.values()))
                )
            )
        ).all()
    )
    return {
        lesson.id: [
            (messages[int(s)], escalations.get(messages[int(s)]))
            for s in lesson.evidence_signal_ids or []
            if int(s) in messages
        ]
        for lesson in rows
    }


def _lesson_back(status: str | None) -> str:
    return f"/admin/lessons?status={status}" if status in LESSON_STATUSES else "/admin/lessons"


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.post("/lessons/{lesson_id}/{action}", response_model=None)
async def review_lesson(
    request: Request,
    lesson_id: DbId,
    action: str,
    principal: AdminPage,
    session: SessionDep,
    settings: SettingsDep,
    embedder: EmbedderDep,
) -> Response:
    """Approve, reject (with an optional note) or edit a lesson, then back to the list."""
    form = await _form(request)
    back = _lesson_back(form.get("status"))
    try:
        if action == "approve":
            await lesson_service.approve_lesson(
                session, lesson_id, principal.user_id, tenant=settings.tenant
            )
            done = "approved"
        elif action == "reject":
            await lesson_service.reject_lesson(
                session, lesson_id, principal.user_id, note=form.get("note"), tenant=settings.tenant
            )
            done = "rejected"
        elif action == "edit":
            await lesson_service.edit_lesson(
                session,
                lesson_id,
                instruction=form.get("instruction"),
                title=form.get("title"),
                tenant=settings.tenant,
                embedder=embedder,
            )
            done = "edited"
        else:
            raise errors.NotFoundError(f"unknown lesson action '{action}'")
    except errors.TriadError as exc:
        await session.rollback()
        return error_page(request, exc, back=back)
    joiner = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{joiner}done={done}#lesson-{lesson_id}", status_code=303)


@router.get("/costs")
async def costs(
    request: Request,
    principal: AdminPage,
    session: SessionDep,
    settings: SettingsDep,
    days: Days = 30,
) -> HTMLResponse:
    """Spend per day, provider, model and agent: a stacked chart and the full table."""
    start, end, timezone = _range(settings, days)
    rows, totals = await cost_report(
        session, start=start, end=end, group_by=GROUP_FIELDS, timezone=timezone
    )
    per_day, _ = await cost_report(
        session, start=start, end=end, group_by=("day", "provider"), timezone=timezone
    )
    span = _day_labels(start, end)
    stacked: dict[str, dict[date, float]] = defaultdict(dict)
    for row in per_day:
        if row.day is not None:
            stacked[row.provider or "?"][row.day] = row.cost_usd
    series: dict[str, list[float | None]] = {
        p: [v.get(d, 0.0) for d in span] for p, v in sorted(stacked.items())
    }
    by: dict[str, list[CostRow]] = {}
    for field in GROUP_FIELDS[1:]:
        by[field], _ = await cost_report(
            session, start=start, end=end, group_by=(field,), timezone=timezone
        )
    return render(
        request,
        "admin/costs.html",
        {
            "principal": principal,
            "start": start,
            "end": end,
            "days": days,
            "timezone": timezone,
            "rows": rows,
            "totals": totals,
            "by": by,
            "chart": charts.stacked_bar_chart(
                "Cost per day by provider (USD)",
                [d.isoformat() for d in span],
                series,
                y_title="USD",
            ),
        },
    )


@router.get("/providers")
async def providers(
    request: Request, principal: AdminPage, session: SessionDep, runtime: RuntimeDep
) -> HTMLResponse:
    """Circuit state per model (this process) and the last hour's p95 latency and errors."""
    rows = await provider_health(session, runtime.router, now=datetime.now(UTC))
    return render(request, "admin/providers.html", {"principal": principal, "rows": rows})


@router.get("/flags")
async def flag_list(
    request: Request,
    principal: AdminPage,
    session: SessionDep,
    settings: SettingsDep,
    done: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    """Feature flags (llm_dialogue and its activation threshold) and the last dialogue runs."""
    states = await flags.list_flags(session)
    runs = await lesson_service.list_runs(session, tenant=settings.tenant, limit=20)
    return render(
        request,
        "admin/flags.html",
        {
            "principal": principal,
            "flags": states,
            "runs": runs,
            "flash": DONE_MESSAGES.get(done or ""),
        },
    )


def _coerce(raw: str, current: Any, name: str) -> Any:
    """A form string as the type the flag's current value has (InputError if it does not fit)."""
    if isinstance(current, bool):
        return raw.lower() in ("1", "true", "on", "yes")
    if isinstance(current, int):
        try:
            return int(raw)
        except ValueError:
            raise errors.InputError(f"{name} must be a whole number, got '{raw}'") from None
    if isinstance(current, float):
        try:
            return float(raw)
        except ValueError:
            raise errors.InputError(f"{name} must be a number, got '{raw}'") from None
    return raw


@router.post("/flags/{key}", response_model=None)
async def save_flag(request: Request, key: str, _: AdminPage, session: SessionDep) -> Response:
    """Turn a flag on or off and set its value fields (`value.<name>` form fields)."""
    form = await _form(request)
    try:
        current = await flags.get_flag(session, key, fresh=True)
        value = dict(current.value)
        for name, raw in form.items():
            if name.startswith("value."):
                field = name.removeprefix("value.")
                value[field] = _coerce(raw.strip(), current.value.get(field), field)
        await flags.set_flag(session, key, enabled=form.get("enabled") == "on", value=value)
    except errors.TriadError as exc:
        await session.rollback()
        return error_page(request, exc, back="/admin/flags")
    return RedirectResponse("/admin/flags?done=flag", status_code=303)
