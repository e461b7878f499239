"""Experiments for admins: list them, read a report, start, pause and stop them.

Definitions come from config/experiments.yaml; these routes only change status. An action
the current status forbids is a 409 naming both; an unknown id or key is a 404.
"""

from __future__ import annotations

from fastapi import APIRouter

from triad.api.deps import AdminDep, CurrentAdmin, SessionDep
from triad.experiments import store
from triad.experiments.report import ExperimentOut, ExperimentReport, build_report

router = APIRouter(prefix="/admin/api/experiments", tags=["experiments"], dependencies=[AdminDep])


@router.get("")
async def list_experiments(session: SessionDep) -> list[ExperimentOut]:
    """Every experiment with its status and the arms' current shares."""
    return [ExperimentOut.of(row) for row in await store.list_experiments(session)]


@router.get("/{ref}")
async def experiment_report(ref: str, session: SessionDep) -> ExperimentReport:
    """The report (by id or key): per-arm metrics, each arm against the baseline with its
    significance and the sample size still needed, the canary's state and recent events."""
    return await build_report(session, ref)


async def _act(session: SessionDep, ref: str, action: str, admin: CurrentAdmin) -> ExperimentOut:
    row = await store.transition(session, ref, action, actor=admin.email or admin.display_name)
    return ExperimentOut.of(row)


@router.post("/{ref}/start")
async def start(ref: str, session: SessionDep, admin: CurrentAdmin) -> ExperimentOut:
    """Run a draft, resume a paused experiment, or restart a rolled-back canary (first step)."""
    return await _act(session, ref, "start", admin)


@router.post("/{ref}/pause")
async def pause(ref: str, session: SessionDep, admin: CurrentAdmin) -> ExperimentOut:
    """Send everyone to the baseline for now; start resumes where it was."""
    return await _act(session, ref, "pause", admin)


@router.post("/{ref}/stop")
async def stop(ref: str, session: SessionDep, admin: CurrentAdmin) -> ExperimentOut:
    """End the experiment for good; its rows and report stay."""
    return await _act(session, ref, "stop", admin)
