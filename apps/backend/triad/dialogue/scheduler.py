"""APScheduler (3.x, asyncio) with its jobs in PostgreSQL, calling the nightly dialogue job.

Every replica registers the same job id with `replace_existing`, so the table holds one job
however many processes start; if two schedulers fire it, the job's advisory lock lets one work.
The scheduler only calls `nightly_dialogue`; the job itself is a plain async function. Each
night also retries the failed runs of the three days before yesterday.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.engine import make_url

from triad.db.models import DialogueRun
from triad.db.session import make_session_factory
from triad.dialogue.job import DialogueDeps, RunOutcome, run_dialogue

log = logging.getLogger(__name__)

JOB_ID = "triad.dialogue.nightly"
MISFIRE_GRACE_S = 3 * 3600
RETRY_DAYS = 3


class _Active:
    """The dependencies and tenant of the process's scheduled job (jobs are stored by name)."""

    deps: DialogueDeps | None = None
    tenant: str = ""


def sync_url(url: str) -> str:
    """The URL for APScheduler's synchronous engine: psycopg 3 serves both modes."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+asyncpg", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


async def nightly(
    deps: DialogueDeps, *, tenant: str, now: datetime | None = None
) -> list[RunOutcome]:
    """The dialogue for the business day that just ended, then a retry of each of the
    `RETRY_DAYS` days before it whose run failed (oldest first); skipped days stay skipped."""
    today = (now or datetime.now(deps.config.zone)).astimezone(deps.config.zone).date()
    yesterday = today - timedelta(days=1)
    outcomes = [await run_dialogue(deps, tenant=tenant, run_date=yesterday)]
    async with make_session_factory(deps.engine)() as session:
        failed = list(
            await session.scalars(
                select(DialogueRun.run_date)
                .where(
                    DialogueRun.tenant == tenant,
                    DialogueRun.status == "failed",
                    DialogueRun.run_date >= yesterday - timedelta(days=RETRY_DAYS),
                    DialogueRun.run_date < yesterday,
                )
                .order_by(DialogueRun.run_date)
            )
        )
    for day in failed:
        outcomes.append(await run_dialogue(deps, tenant=tenant, run_date=day, trigger="retry"))
    for outcome in outcomes:
        log.warning(
            "nightly dialogue for %s %s: %s", outcome.run_date, outcome.outcome, outcome.message
        )
    return outcomes


async def nightly_dialogue() -> list[RunOutcome] | None:
    """The scheduled job: `nightly` for the process's tenant."""
    deps = _Active.deps
    if deps is None:
        log.warning("nightly dialogue fired in a process with no dialogue dependencies")
        return None
    return await nightly(deps, tenant=_Active.tenant)


def build_scheduler(deps: DialogueDeps, *, tenant: str, database_url: str) -> AsyncIOScheduler:
    """A scheduler whose job store is the `apscheduler_jobs` table (made by migration 0004)."""
    store = SQLAlchemyJobStore(url=sync_url(database_url), tablename="apscheduler_jobs")
    scheduler = AsyncIOScheduler(jobstores={"default": store}, timezone=deps.config.zone)
    _Active.deps, _Active.tenant = deps, tenant
    return scheduler


def register_jobs(scheduler: AsyncIOScheduler, deps: DialogueDeps) -> None:
    """The nightly job at `run_at` in the dialogue's time zone, one row whatever the replicas."""
    run_at = deps.config.run_at
    scheduler.add_job(
        nightly_dialogue,
        CronTrigger(hour=run_at.hour, minute=run_at.minute, timezone=deps.config.zone),
        id=JOB_ID,
        name="nightly LLMDialogue",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=MISFIRE_GRACE_S,
    )


def start_scheduler(deps: DialogueDeps, *, tenant: str, database_url: str) -> AsyncIOScheduler:
    """Build, register and start (needs the running event loop)."""
    scheduler = build_scheduler(deps, tenant=tenant, database_url=database_url)
    register_jobs(scheduler, deps)
    scheduler.start()
    return scheduler


async def stop_scheduler(scheduler: AsyncIOScheduler) -> None:
    """Stop without waiting for a running job (its advisory lock dies with its connection).

    The asyncio scheduler shuts down in a callback on the loop, so yield until it has.
    """
    if scheduler.running:
        scheduler.shutdown(wait=False)
    for _ in range(100):
        if not scheduler.running:
            break
        await asyncio.sleep(0)
    _Active.deps = None
