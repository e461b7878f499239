"""Admin data for the console: costs and savings (admins only)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from triad.api.deps import AdminDep, SessionDep, SettingsDep
from triad.routing.budget import BudgetConfig
from triad.routing.costs import GROUP_FIELDS, CostRow, cost_report, parse_group_by, report_range

router = APIRouter(prefix="/admin/api", tags=["admin"], dependencies=[AdminDep])


class CostRowOut(BaseModel):
    """Spend and savings of one group; a field not grouped by is null."""

    day: date | None
    provider: str | None
    model: str | None
    agent: str | None
    calls: int = Field(description="models actually called (errors included, skips not)")
    cache_hits: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    saved_usd: float = Field(description="what the cache hits would have cost")

    @classmethod
    def of(cls, row: CostRow) -> CostRowOut:
        return cls(
            day=row.day,
            provider=row.provider,
            model=row.model,
            agent=row.agent,
            calls=row.calls,
            cache_hits=row.cache_hits,
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
            cost_usd=round(row.cost_usd, 6),
            saved_usd=round(row.saved_usd, 6),
        )


class CostReport(BaseModel):
    """The report; `from` and `to` are the days covered, both inclusive."""

    start: date = Field(serialization_alias="from")
    end: date = Field(serialization_alias="to")
    timezone: str
    group_by: list[str]
    rows: list[CostRowOut]
    totals: CostRowOut


@router.get("/costs")
async def costs(
    session: SessionDep,
    settings: SettingsDep,
    start: Annotated[date | None, Query(alias="from", description="first day, inclusive")] = None,
    end: Annotated[date | None, Query(alias="to", description="last day, inclusive")] = None,
    group_by: Annotated[
        str, Query(max_length=64, description=f"comma-separated: {', '.join(GROUP_FIELDS)}")
    ] = ",".join(GROUP_FIELDS),
) -> CostReport:
    """Spend (list price) and cache savings per day, provider, model and agent, with totals.

    Days are the business's days (the time zone of `config/budgets.yaml`); the default range
    is the last 30 days. A bad date, a reversed or over-long range, or an unknown group_by
    field is a 422.
    """
    budgets = BudgetConfig.from_yaml(settings.budgets_config)
    fields = parse_group_by(group_by)
    start, end = report_range(budgets, start, end)
    rows, totals = await cost_report(
        session, start=start, end=end, group_by=fields, timezone=budgets.timezone
    )
    return CostReport(
        start=start,
        end=end,
        timezone=budgets.timezone,
        group_by=list(fields),
        rows=[CostRowOut.of(r) for r in rows],
        totals=CostRowOut.of(totals),
    )
