"""Spend and savings per day, provider, model and agent, from `provider_calls` and `cache_hits`.

Days are the business's days (the budgets' time zone), so a report and a daily budget agree
on what "today" spent. `calls` counts models actually called (errors included; skipped models
and cache hits are not calls); `saved_usd` is what the cache hits would have cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal, TypeVar, get_args
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from triad.db.models import CacheHit, ProviderCall
from triad.errors import InputError
from triad.routing.budget import BudgetConfig

GroupField = Literal["day", "provider", "model", "agent"]
GROUP_FIELDS: tuple[GroupField, ...] = get_args(GroupField)
MAX_DAYS = 366


@dataclass
class CostRow:
    """One group of the report; a field not grouped by is None."""

    day: date | None = None
    provider: str | None = None
    model: str | None = None
    agent: str | None = None
    calls: int = 0
    cache_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    saved_usd: float = 0.0

    def add(self, other: CostRow) -> None:
        for name in ("calls", "cache_hits", "input_tokens", "output_tokens"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.cost_usd += other.cost_usd
        self.saved_usd += other.saved_usd


F = TypeVar("F", bound=str)


def parse_fields(raw: str, allowed: Sequence[F]) -> list[F]:
    """`day,provider` -> the fields of `allowed`, in its order; InputError names a bad one."""
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = sorted(set(names) - set(allowed))
    if unknown:
        raise InputError(
            f"group_by: unknown field(s) {', '.join(unknown)}; use any of {', '.join(allowed)}"
        )
    return [f for f in allowed if f in names]


def parse_group_by(raw: str) -> list[GroupField]:
    """`day,provider` -> the fields, in the canonical order; InputError names a bad one."""
    return parse_fields(raw, GROUP_FIELDS)


DEFAULT_REPORT_DAYS = 30


def report_range(
    budgets: BudgetConfig, start: date | None, end: date | None, days: int = DEFAULT_REPORT_DAYS
) -> tuple[date, date]:
    """The days a report covers: what was asked, else the last `days` business days (the
    budgets' time zone), today included."""
    end = end or datetime.now(budgets.zone).date()
    return start or end - timedelta(days=days - 1), end


def day_bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants that open `start` and close `end` (inclusive days) in `zone`; InputError
    for a reversed or over-long range."""
    if end < start:
        raise InputError(f"'from' ({start}) is after 'to' ({end})")
    if (end - start).days >= MAX_DAYS:
        raise InputError(f"the range is {(end - start).days + 1} days; at most {MAX_DAYS} allowed")
    try:
        after = end + timedelta(days=1)
        low = datetime(start.year, start.month, start.day, tzinfo=zone)
        high = datetime(after.year, after.month, after.day, tzinfo=zone)
        for instant in (low, high):  # the database stores UTC instants
            instant.astimezone(ZoneInfo("UTC"))
    except OverflowError as exc:
        raise InputError(
            f"the days {start} to {end} reach beyond the calendar in {zone.key}; "
            "pick days between 0001-01-02 and 9999-12-30"
        ) from exc
    return low, high


def _columns(table: type[ProviderCall] | type[CacheHit], timezone: str) -> dict[GroupField, Any]:
    """The group fields of a table, its day taken in the business's time zone."""
    return {
        "day": func.date(func.timezone(timezone, table.created_at)),
        "provider": table.provider,
        "model": table.model,
        "agent": table.agent,
    }


async def _grouped(
    session: AsyncSession,
    columns: dict[GroupField, Any],
    measures: dict[str, ColumnElement[Any]],
    where: Sequence[ColumnElement[bool]],
    group_by: Sequence[GroupField],
) -> list[CostRow]:
    keys = [columns[f].label(f) for f in group_by]
    values = [m.label(name) for name, m in measures.items()]
    stmt = select(*keys, *values).where(*where)
    if keys:
        stmt = stmt.group_by(*keys)
    rows = (await session.execute(stmt)).mappings().all()
    return [CostRow(**{k: v for k, v in row.items() if v is not None}) for row in rows]


async def cost_report(
    session: AsyncSession,
    *,
    start: date,
    end: date,
    group_by: Sequence[GroupField],
    timezone: str,
) -> tuple[list[CostRow], CostRow]:
    """Rows (ordered by their group fields) and totals for the days `start`..`end` inclusive."""
    zone = ZoneInfo(timezone)
    low, high = day_bounds(start, end, zone)
    pc, hit = ProviderCall, CacheHit
    called = and_(pc.outcome != "cache_hit", not_(pc.outcome.startswith("skipped")))
    spend = await _grouped(
        session,
        _columns(pc, timezone),
        {
            "calls": func.count().filter(called),
            "input_tokens": func.coalesce(func.sum(pc.input_tokens), 0),
            "output_tokens": func.coalesce(func.sum(pc.output_tokens), 0),
            "cost_usd": func.coalesce(func.sum(pc.cost_usd), 0.0),
        },
        [pc.created_at >= low, pc.created_at < high],
        group_by,
    )
    saved = await _grouped(
        session,
        _columns(hit, timezone),
        {"cache_hits": func.count(), "saved_usd": func.coalesce(func.sum(hit.saved_usd), 0.0)},
        [hit.created_at >= low, hit.created_at < high],
        group_by,
    )
    merged: dict[tuple[Any, ...], CostRow] = {}
    for row in [*spend, *saved]:
        group = tuple(getattr(row, f) for f in group_by)
        target = merged.setdefault(group, CostRow(**dict(zip(group_by, group, strict=True))))
        target.add(row)
    rows = sorted(merged.values(), key=lambda r: tuple(str(getattr(r, f) or "") for f in group_by))
    totals = CostRow()
    for row in rows:
        totals.add(row)
    return rows, totals
