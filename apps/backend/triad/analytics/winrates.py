"""Win rates, hallucination rates, consensus and cost per day, agent, role, provider and model.

Past days that were rolled up are read from `daily_rollups`; every other day (today, or a day
the nightly job has not reached) is computed live with the same select `rollup_day` stores,
so both paths count alike (the definitions are in `triad.analytics.rollups`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from triad.analytics.rollups import KEYS, MEASURES, daily_measures
from triad.db.models import DailyRollup
from triad.routing.costs import day_bounds

WinRateField = Literal["day", "agent", "role", "provider", "model"]
WIN_RATE_FIELDS: tuple[WinRateField, ...] = get_args(WinRateField)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


@dataclass
class WinRateRow:
    """One group; a field not grouped by is None. Rates are None when their base is 0."""

    day: date | None = None
    agent: str | None = None
    role: str | None = None
    provider: str | None = None
    model: str | None = None
    turns: int = 0
    answers: int = 0
    errors: int = 0
    wins: int = 0
    losses: int = 0
    ties: int = 0
    unsupported: int = 0
    consensus_sum: float = 0.0
    escalations: int = 0
    thumbs_up: int = 0
    thumbs_down: int = 0
    cost_usd: float = 0.0

    @property
    def win_rate(self) -> float | None:
        """Wins over decided turns (wins + losses + ties)."""
        return _ratio(self.wins, self.wins + self.losses + self.ties)

    @property
    def hallucination_rate(self) -> float | None:
        """Share of answers with at least one unsupported claim."""
        return _ratio(self.unsupported, self.answers)

    @property
    def mean_consensus(self) -> float | None:
        return _ratio(self.consensus_sum, self.turns)

    @property
    def escalation_rate(self) -> float | None:
        return _ratio(self.escalations, self.turns)


async def rolled_up_days(
    session: AsyncSession, *, tenant: str, start: date, end: date
) -> list[date]:
    """Days of `start`..`end` that have stored rollups."""
    rows = await session.scalars(
        select(DailyRollup.day)
        .where(DailyRollup.tenant == tenant, DailyRollup.day >= start, DailyRollup.day <= end)
        .distinct()
    )
    return list(rows)


async def win_rates(
    session: AsyncSession,
    *,
    start: date,
    end: date,
    group_by: Sequence[WinRateField],
    tenant: str,
    timezone: str,
    now: datetime | None = None,
) -> list[WinRateRow]:
    """Rows for the days `start`..`end` inclusive, ordered by their group fields.

    Today (in `timezone`, as of `now`) is always computed live, since its rollup, if any, is
    already out of date.
    """
    zone = ZoneInfo(timezone)
    low, high = day_bounds(start, end, zone)
    today = (now or datetime.now(zone)).astimezone(zone).date()
    stored_days = [
        d for d in await rolled_up_days(session, tenant=tenant, start=start, end=end) if d < today
    ]
    live = daily_measures(tenant=tenant, low=low, high=high, timezone=timezone).subquery("live")
    stored = select(*(DailyRollup.__table__.c[n] for n in (*KEYS, *MEASURES))).where(
        DailyRollup.tenant == tenant, DailyRollup.day.in_(stored_days)
    )
    fresh = select(*(live.c[n] for n in (*KEYS, *MEASURES))).where(live.c.day.not_in(stored_days))
    both = union_all(stored, fresh).subquery("daily")
    keys = [both.c[f] for f in group_by]
    stmt = select(*keys, *(func.sum(both.c[m]).label(m) for m in MEASURES))
    if keys:
        stmt = stmt.group_by(*keys).order_by(*keys)
    result = (await session.execute(stmt)).mappings().all()
    return [_row(r) for r in result if r["turns"]]


def _row(values: Any) -> WinRateRow:
    row = WinRateRow(**{k: v for k, v in values.items() if v is not None})
    for name in MEASURES:
        kind = float if name in ("consensus_sum", "cost_usd") else int
        setattr(row, name, kind(getattr(row, name)))
    return row
