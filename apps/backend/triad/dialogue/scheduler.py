"""APScheduler (3.x, asyncio) with its jobs in PostgreSQL, calling the nightly dialogue job.

Every replica registers the same job id with `replace_existing`, so the table holds one job
however many processes start; if two schedulers fire it, the job's advisory lock lets one work.
The scheduler only calls `nightly_dialogue`; the job itself is a plain async function.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.engine import make_url

from triad.dialogue.job import DialogueDeps, RunOutcome, run_dialogue

log = logging.getLogger(__name__)

JOB_ID = "triad.dialogue.nightly"
MISFIRE_GRACE_S = 3 * 3600


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


async def nightly_dialogue() -> RunOutcome | None:
    """The scheduled job: the dialogue for the business day that just ended."""
    deps = _Active.deps
    if deps is None:
        log.warning("nightly dialogue fired in a process with no dialogue dependencies")
        return None
    yesterday = (datetime.now(deps.config.zone) - timedelta(days=1)).date()
    outcome = await run_dialogue(deps, tenant=_Active.tenant, run_date=yesterday)
    log.warning("nightly dialogue %s: %s", outcome.outcome, outcome.message)
    return outcome


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
