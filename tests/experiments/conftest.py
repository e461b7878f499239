"""An app on the test database with its own experiments (and optionally routing) config."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.api.conftest import ADMIN_TOKEN, STAFF_TOKEN, make_api_key
from tests.conftest import truncate_all
from triad.api import create_app
from triad.knowledge.embedding import Embedder
from triad.knowledge.ingest import ingest_with_settings
from triad.settings import Settings

MakeApp = Callable[..., Awaitable[tuple[FastAPI, httpx.AsyncClient]]]


@pytest.fixture
async def make_app(
    settings: Settings, database_url: str, engine: AsyncEngine, tmp_path: Path
) -> AsyncIterator[MakeApp]:
    """`await make_app(experiments_yaml, routing=...)`: the real app (lifespan run) and a client.

    `routing` is merged over config/routing.yaml (top-level keys, one level deep).
    """
    stack = AsyncExitStack()

    async def build(
        experiments: str, routing: dict[str, Any] | None = None
    ) -> tuple[FastAPI, httpx.AsyncClient]:
        path = tmp_path / "experiments.yaml"
        path.write_text(experiments, encoding="utf-8")
        update: dict[str, Any] = {
            "staff_token": SecretStr(STAFF_TOKEN),
            "admin_token": SecretStr(ADMIN_TOKEN),
            "experiments_config": path,
        }
        if "scheduler" in Settings.model_fields:
            update["scheduler"] = False
        if routing:
            raw = yaml.safe_load(settings.routing_config.read_text(encoding="utf-8"))
            for key, value in routing.items():
                raw[key] = {**raw[key], **value} if isinstance(value, dict) else value
            routing_path = tmp_path / "routing.yaml"
            routing_path.write_text(yaml.safe_dump(raw), encoding="utf-8")
            update["routing_config"] = routing_path
        application = create_app(settings.model_copy(update=update), database_url=database_url)
        await stack.enter_async_context(application.router.lifespan_context(application))
        transport = httpx.ASGITransport(app=application)
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://triad.test")
        )
        client.headers["Authorization"] = f"Bearer {await make_api_key(application)}"
        return application, client

    yield build
    await stack.aclose()
    await truncate_all(engine)


@pytest.fixture
async def demo(session: AsyncSession, settings: Settings, embedder: Embedder) -> None:
    await ingest_with_settings(session, settings, embedder)
