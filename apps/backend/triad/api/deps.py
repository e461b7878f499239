"""FastAPI dependencies, declared once as `Annotated` aliases."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from triad.errors import ConfigurationError, NotAuthorizedError
from triad.knowledge.embedding import Embedder
from triad.runtime import Runtime
from triad.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.session_factory() as session:
        yield session


def get_embedder_dep(request: Request) -> Embedder:
    embedder: Embedder = request.app.state.embedder()
    return embedder


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def require_staff(
    request: Request,
    authorization: Annotated[str | None, Header(description="Bearer <TRIAD_STAFF_TOKEN>")] = None,
) -> None:
    """Staff endpoints need the staff token until accounts land (the admin console issue)."""
    settings: Settings = request.app.state.settings
    if settings.staff_token is None:
        raise ConfigurationError("the staff API is disabled: set TRIAD_STAFF_TOKEN to enable it")
    expected = f"Bearer {settings.staff_token.get_secret_value()}"
    if not authorization or not hmac.compare_digest(authorization, expected):
        raise NotAuthorizedError("staff credentials are missing or wrong")


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
EmbedderDep = Annotated[Embedder, Depends(get_embedder_dep)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
StaffDep = Depends(require_staff)
