"""Daily rollups per agent, role, provider and model: one aggregation, stored or computed live.

`daily_measures` is the only place the numbers are defined; `rollup_day` stores its rows in
`daily_rollups`, and `win_rates` (in `triad.analytics.winrates`) reads those rows or, for days
not rolled up yet, the same select computed live.

What is counted, per candidate (one model's answer to one customer turn, in one role):
- turns: every candidate; answers: a non-blank text and no error; errors: all the others.
- win / loss / tie, per turn: with two answers, a tie when the critic named no winner or the
  two scores are equal within 1e-9; otherwise the winner gets a win and the other a loss.
  A candidate that failed is an error, and also a loss when the other one won. A single answer
  that the critic chose is a win.
- unsupported: answers with at least one unsupported claim (hallucination rate = unsupported /
  answers).
- consensus_sum: the turn's consensus (0 for a turn the critic never saw, as in its signal).
- escalations: turns handed to staff.
- thumbs up / down: the customer's feedback on the reply, credited to the candidate whose text
  was sent (the winner, unless the customer got the holding reply).
- cost_usd: the candidate's cost, every router attempt of the role included.

Days are the business's days (the budgets' time zone); a turn's day is its reply's.
Cache hits have no candidates and are not counted (their reply was checked when stored).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from triad.db.models import (
    Candidate,
    Conversation,
    CriticEvaluation,
    DailyRollup,
    Escalation,
    Message,
)
from triad.routing.costs import day_bounds

TIE_EPSILON = 1e-9
KEYS = ("day", "tenant", "agent", "role", "provider", "model")
MEASURES = (
    "turns",
    "answers",
    "errors",
    "wins",
    "losses",
    "ties",
    "unsupported",
    "consensus_sum",
    "escalations",
    "thumbs_up",
    "thumbs_down",
    "cost_usd",
)


def day_expr(column: Any, timezone: str) -> ColumnElement[date]:
    """The business day of a timestamp column."""
    return func.date(func.timezone(timezone, column))


def _per_candidate(
    *, tenant: str, low: datetime, high: datetime, timezone: str
) -> Any:  # a Subquery
    """One row per candidate of the window, with what its turn decided."""
    c, m = Candidate, Message
    answered = and_(c.text.is_not(None), func.btrim(c.text) != "", c.error.is_(None))
    answered_n = func.sum(case((answered, 1), else_=0)).over(partition_by=c.message_id)
    best = func.max(case((answered, c.score))).over(partition_by=c.message_id)
    worst = func.min(case((answered, c.score))).over(partition_by=c.message_id)
    winner = CriticEvaluation.winner_candidate_id
    escalated = exists().where(Escalation.message_id == m.id)
    return (
        select(
            day_expr(m.created_at, timezone).label("day"),
            Conversation.tenant.label("tenant"),
            func.coalesce(m.agent, "").label("agent"),
            c.role.label("role"),
            c.provider.label("provider"),
            c.model.label("model"),
            answered.label("answered"),
            (answered_n == 2).label("pair"),
            winner.is_(None).label("no_winner"),
            func.coalesce(winner == c.id, literal(False)).label("won"),
            func.coalesce(best - worst <= TIE_EPSILON, literal(False)).label("close"),
            (func.jsonb_array_length(c.unsupported_claims) > 0).label("has_unsupported"),
            func.coalesce(CriticEvaluation.consensus, 0.0).label("consensus"),
            escalated.label("escalated"),
            (func.coalesce(m.decision, "") != "hold_and_escalate").label("sent"),
            m.feedback.label("feedback"),
            c.cost_usd.label("cost_usd"),
        )
        .join(m, m.id == c.message_id)
        .join(Conversation, Conversation.id == m.conversation_id)
        .outerjoin(CriticEvaluation, CriticEvaluation.message_id == m.id)
        .where(
            Conversation.tenant == tenant,
            m.role == "assistant",
            m.created_at >= low,
            m.created_at < high,
        )
        .subquery("per_candidate")
    )


def daily_measures(*, tenant: str, low: datetime, high: datetime, timezone: str) -> Select[Any]:
    """The rollup rows of `[low, high)`, live: one per day, agent, role, provider and model.

    Its columns are named like `daily_rollups`' (KEYS then MEASURES).
    """
    p = _per_candidate(tenant=tenant, low=low, high=high, timezone=timezone)
    answered = p.c.answered
    tie = and_(answered, p.c.pair, or_(p.c.no_winner, p.c.close))
    decisive = and_(answered, p.c.pair, not_(p.c.no_winner), not_(p.c.close))
    win = and_(answered, p.c.won, or_(not_(p.c.pair), decisive))
    loss = or_(
        and_(decisive, not_(p.c.won)),
        and_(not_(answered), not_(p.c.no_winner)),
    )
    shown = and_(p.c.won, p.c.sent)

    def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.count().filter(cast(condition, Boolean))

    keys = [p.c[k] for k in KEYS]
    return select(
        *keys,
        func.count().label("turns"),
        count(answered).label("answers"),
        count(not_(answered)).label("errors"),
        count(win).label("wins"),
        count(loss).label("losses"),
        count(tie).label("ties"),
        count(and_(answered, p.c.has_unsupported)).label("unsupported"),
        func.coalesce(func.sum(p.c.consensus), 0.0).label("consensus_sum"),
        count(p.c.escalated).label("escalations"),
        count(and_(shown, p.c.feedback == 1)).label("thumbs_up"),
        count(and_(shown, p.c.feedback == -1)).label("thumbs_down"),
        func.coalesce(func.sum(p.c.cost_usd), 0.0).label("cost_usd"),
    ).group_by(*keys)


async def rollup_day(session: AsyncSession, *, tenant: str, day: date, timezone: str) -> int:
    """(Re)build `day`'s rollups of `tenant`; the number of rows it now has.

    Idempotent: rows are upserted on their key and rows of groups that no longer have any turn
    are deleted, so running it twice leaves the same rows. Runs in the caller's transaction
    (flushes, never commits), so a job can roll up and record its run atomically.
    """
    low, high = day_bounds(day, day, ZoneInfo(timezone))
    measures = daily_measures(tenant=tenant, low=low, high=high, timezone=timezone)
    stmt = insert(DailyRollup).from_select([*KEYS, *MEASURES], measures)
    upsert = stmt.on_conflict_do_update(
        index_elements=list(KEYS),
        set_={**{m: stmt.excluded[m] for m in MEASURES}, "updated_at": func.now()},
    ).returning(DailyRollup.id)
    kept = list((await session.scalars(upsert)).all())
    stale = delete(DailyRollup).where(DailyRollup.day == day, DailyRollup.tenant == tenant)
    if kept:
        stale = stale.where(DailyRollup.id.not_in(kept))
    await session.execute(stale)
    await session.flush()
    return len(kept)
