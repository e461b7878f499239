"""The API serves health, OpenAPI and knowledge search, and refuses bad input with a 422."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from triad.knowledge.embedding import Embedder
from triad.knowledge.ingest import ingest_with_settings
from triad.settings import Settings


async def test_health_reports_database_and_knowledge_version(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, embedder: Embedder
) -> None:
    before = (await client.get("/health")).json()
    assert before == {
        "status": "ok",
        "database": "ok",
        "tenant": settings.tenant,
        "knowledge_version": 0,
    }
    await ingest_with_settings(session, settings, embedder)
    after = (await client.get("/health")).json()
    assert after["knowledge_version"] == 1


async def test_openapi_lists_the_routes(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert {"/health", "/knowledge/search"} <= set(spec["paths"])
    assert (await client.get("/docs")).status_code == 200


async def test_search_returns_the_right_passage_first(
    client: httpx.AsyncClient, demo: None
) -> None:
    response = await client.get("/knowledge/search", params={"q": "Do you serve wagyu?"})
    assert response.status_code == 200
    body = response.json()
    assert body["knowledge_version"] == 1
    first = body["passages"][0]
    assert first["heading_path"].endswith("Not on the menu")
    assert first["source"] == "menu.md"


async def test_search_scope_limits_sources(client: httpx.AsyncClient, demo: None) -> None:
    response = await client.get(
        "/knowledge/search", params={"q": "deposit", "source": ["booking.md"], "k": 10}
    )
    assert response.status_code == 200
    assert {p["source"] for p in response.json()["passages"]} == {"booking.md"}


async def test_search_rejects_empty_and_oversize_queries(client: httpx.AsyncClient) -> None:
    empty = await client.get("/knowledge/search", params={"q": ""})
    assert empty.status_code == 422
    assert "q" in str(empty.json()["detail"])
    blank = await client.get("/knowledge/search", params={"q": "   "})
    assert blank.status_code == 422
    huge = await client.get("/knowledge/search", params={"q": "x" * 2001})
    assert huge.status_code == 422
    bad_k = await client.get("/knowledge/search", params={"q": "deposit", "k": 0})
    assert bad_k.status_code == 422
