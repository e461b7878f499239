"""FastAPI dependencies, declared once as `Annotated` aliases."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Header, Request
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from triad.errors import ForbiddenError, NotAuthorizedError
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


Role = Literal["staff", "admin"]


@dataclass(frozen=True)
class Principal:
    """Who is calling a staff or admin API or page.

    `via` says how they proved it: a browser session (cookie), a per-user API token, or one of
    the service tokens from the environment (TRIAD_STAFF_TOKEN / TRIAD_ADMIN_TOKEN, for
    machines; they have no user row, so `user_id` is None). `csrf_token` is set for sessions:
    every form posted from a session must carry it.
    """

    role: Role
    via: Literal["session", "token", "service"]
    user_id: int | None = None
    email: str | None = None
    display_name: str = ""
    csrf_token: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _service_principal(settings: Settings, authorization: str | None) -> Principal | None:
    """The environment's service tokens; compared in constant time."""
    if not authorization:
        return None
    tokens: tuple[tuple[Role, SecretStr | None], ...] = (
        ("admin", settings.admin_token),
        ("staff", settings.staff_token),
    )
    for role, secret in tokens:
        if secret is not None and hmac.compare_digest(
            authorization, f"Bearer {secret.get_secret_value()}"
        ):
            return Principal(role=role, via="service", display_name=f"{role} service token")
    return None


async def current_principal(
    request: Request,
    authorization: Annotated[
        str | None, Header(description="Bearer <API token>; browsers use the session cookie")
    ] = None,
) -> Principal:
    """Whoever is calling, or NotAuthorizedError (401)."""
    settings: Settings = request.app.state.settings
    principal = _service_principal(settings, authorization)
    if principal is None:
        raise NotAuthorizedError("staff credentials are missing or wrong")
    return principal


async def require_staff(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    """Staff or admin."""
    return principal


async def require_admin(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    """Admins only; a staff member gets 403."""
    if not principal.is_admin:
        raise ForbiddenError("this needs the admin role")
    return principal


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
EmbedderDep = Annotated[Embedder, Depends(get_embedder_dep)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
StaffDep = Depends(require_staff)
AdminDep = Depends(require_admin)
CurrentStaff = Annotated[Principal, Depends(require_staff)]
CurrentAdmin = Annotated[Principal, Depends(require_admin)]
