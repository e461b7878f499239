"""An API client on the real app, its lifespan run, pointed at the test database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.conftest import truncate_all
from triad.api import create_app
from triad.auth.keys import KeySpec, create_key
from triad.knowledge.embedding import Embedder
from triad.knowledge.ingest import ingest_with_settings
from triad.runtime import Runtime
from triad.settings import Settings

STAFF_TOKEN = "staff-test-token"
ADMIN_TOKEN = "admin-test-token"
STAFF_HEADERS = {"Authorization": f"Bearer {STAFF_TOKEN}"}
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
async def app(settings: Settings, database_url: str, engine: AsyncEngine) -> AsyncIterator[FastAPI]:
    """The real app (lifespan run) on the test database, with service tokens for both roles."""
    configured = settings.model_copy(
        update={"staff_token": SecretStr(STAFF_TOKEN), "admin_token": SecretStr(ADMIN_TOKEN)}
    )
    application = create_app(configured, database_url=database_url)
    async with application.router.lifespan_context(application):
        yield application
    await truncate_all(engine)


async def make_api_key(app: FastAPI, **limits: Any) -> str:
    """A new key for the machine APIs (`/v1`, `/llm/complete`); its secret."""
    async with app.state.session_factory() as db:
        spec = KeySpec(name=limits.pop("name", "tests"), owner="tests", **limits)
        made = await create_key(db, spec, created_by="tests")
    return made.secret


@pytest.fixture
async def api_key(app: FastAPI) -> str:
    """A key without limits, as an admin would make one with `triad keys create`."""
    return await make_api_key(app)


@pytest.fixture
def keyed(client: httpx.AsyncClient, api_key: str) -> None:
    """`client` sends the API key on every request, as a machine caller would."""
    client.headers["Authorization"] = f"Bearer {api_key}"


@pytest.fixture
def runtime(app: FastAPI) -> Runtime:
    rt: Runtime = app.state.runtime
    return rt


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://triad.test") as c:
        yield c


@pytest.fixture
async def demo(session: AsyncSession, settings: Settings, embedder: Embedder) -> None:
    """The demo tenant's knowledge base, ingested into the test database."""
    await ingest_with_settings(session, settings, embedder)


# --- signed-in users (sessions with their CSRF token) -----------------------------------------

USER_PASSWORD = "correct horse battery staple"
STAFF_EMAIL = "staff@triad.test"
ADMIN_EMAIL = "admin@triad.test"


async def sign_in_as(client: httpx.AsyncClient, app: FastAPI, email: str, role: str) -> None:
    """Create a user of that role and sign `client` in as it (session cookie + CSRF header).

    The client then sends the session's CSRF token in X-CSRF-Token on every request, so JSON
    and form posts pass the CSRF check (`client.headers["X-CSRF-Token"]` for a form field).
    """
    from triad.auth.users import create_user

    async with app.state.session_factory() as db:
        await create_user(db, email, USER_PASSWORD, role, display_name=f"Test {role}")
    response = await client.post("/auth/login", json={"email": email, "password": USER_PASSWORD})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]


@pytest.fixture
async def staff_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Signed in as STAFF_EMAIL (role staff) with a browser session."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://triad.test") as c:
        await sign_in_as(c, app, STAFF_EMAIL, "staff")
        yield c


@pytest.fixture
async def admin_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Signed in as ADMIN_EMAIL (role admin) with a browser session."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://triad.test") as c:
        await sign_in_as(c, app, ADMIN_EMAIL, "admin")
        yield c
