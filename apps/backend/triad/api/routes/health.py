"""Liveness and readiness: is the database there, which knowledge version is served."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from triad.api.deps import SessionDep, SettingsDep
from triad.knowledge.ingest import current_knowledge_version

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: str
    tenant: str
    knowledge_version: int


@router.get("/health")
async def health(session: SessionDep, settings: SettingsDep) -> Health:
    """Report whether the service can reach its database and which knowledge it serves."""
    await session.execute(text("SELECT 1"))
    version = await current_knowledge_version(session, settings.tenant)
    return Health(status="ok", database="ok", tenant=settings.tenant, knowledge_version=version)
