"""Sliding-window limits in PostgreSQL: per client address on sign-in and on new chat sessions,
shared by every replica, refused with 429 and Retry-After before any password is hashed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from triad.api import create_app
from triad.auth import passwords, throttle, users
from triad.settings import Settings

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# --- the window itself -------------------------------------------------------------------------


async def test_the_window_slides_and_refused_hits_do_not_count(session: AsyncSession) -> None:
    async def hit(seconds: float) -> throttle.Verdict:
        return await throttle.hit(session, "t", limit=3, window_seconds=60, now=at(seconds))

    assert [(await hit(s)).allowed for s in (0, 10, 20)] == [True, True, True]
    refused = await hit(30)
    assert not refused.allowed and refused.retry_after == pytest.approx(30)
    assert not (await hit(59.9)).allowed  # refused: still three in the window, none added
    assert (await hit(60.001)).allowed  # the hit at 0 left the window
    again = await hit(65)
    assert not again.allowed and again.retry_after == pytest.approx(5)  # the hit at 10
    assert (await hit(70.001)).allowed
    assert (await hit(200)).allowed  # an old bucket starts afresh


async def test_parallel_hits_from_many_connections_never_exceed_the_limit(
    session_factory: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    async def one() -> bool:
        async with session_factory() as own:
            return (await throttle.hit(own, "busy", limit=5, window_seconds=60)).allowed

    verdicts = await asyncio.gather(*(one() for _ in range(20)))
    assert sum(verdicts) == 5
    assert await throttle.hits_in_window(session, "busy", 60) == 5


# --- sign-in per client address ----------------------------------------------------------------


@pytest.fixture
def dummy_hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every dummy verification (the one an unknown email costs), by password."""
    seen: list[str] = []
    real = passwords.burn_dummy_verify

    def counting(password: str) -> None:
        seen.append(password)
        real(password)

    monkeypatch.setattr(users, "burn_dummy_verify", counting)
    return seen


async def test_spraying_many_emails_from_one_address_is_429_before_any_hash(
    app: FastAPI, client: httpx.AsyncClient, dummy_hashes: list[str]
) -> None:
    settings: Settings = app.state.settings
    assert settings.login_ip_limit == 10 and settings.login_ip_window_seconds == 60
    answers = []
    for n in range(30):
        body = {"email": f"nobody{n}@example.com", "password": "a guessed password"}
        answers.append(await client.post("/auth/login", json=body))
    codes = [a.status_code for a in answers]
    assert codes == [401] * 10 + [429] * 20
    assert len(dummy_hashes) == 10  # the refused twenty cost no hash
    refused = answers[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "too many sign-in attempts from your address" in refused.json()["detail"]
    # another address is not affected
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://triad.test") as other:
        body = {"email": "someone@example.com", "password": "a guessed password"}
        assert (await other.post("/auth/login", json=body)).status_code == 401


async def test_the_login_form_shows_the_address_limit(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    for n in range(10):
        body = {"email": f"nobody{n}@example.com", "password": "a guessed password"}
        await client.post("/auth/login", json=body)
    page = await client.get("/login")
    assert page.status_code == 200
    form = {
        "email": "x@example.com",
        "password": "whatever it is",
        "csrf_token": client.cookies["triad_login_csrf"],
    }
    refused = await client.post("/login", data=form)
    assert refused.status_code == 429, refused.text
    assert "too many sign-in attempts from your address" in refused.text
    assert "Retry-After" in refused.headers


@pytest.fixture
async def replica(settings: Settings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the same database, as a second replica behind a load balancer."""
    second = create_app(settings.model_copy(update={"scheduler": False}), database_url=database_url)
    async with second.router.lifespan_context(second):
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://replica") as c:
            yield c


async def test_replicas_share_the_sign_in_limit(
    client: httpx.AsyncClient, replica: httpx.AsyncClient
) -> None:
    body = {"email": "nobody@example.org", "password": "a guessed password"}
    first = [
        await client.post("/auth/login", json={**body, "email": f"a{n}@x.org"}) for n in range(6)
    ]
    second = [
        await replica.post("/auth/login", json={**body, "email": f"b{n}@x.org"}) for n in range(4)
    ]
    assert {r.status_code for r in first + second} == {401}
    assert (await replica.post("/auth/login", json=body)).status_code == 429
    assert (await client.post("/auth/login", json=body)).status_code == 429


# --- anonymous chat sessions per client address -------------------------------------------------


async def test_new_chat_sessions_per_address_are_limited_across_replicas(
    app: FastAPI, client: httpx.AsyncClient, replica: httpx.AsyncClient
) -> None:
    settings: Settings = app.state.settings
    assert settings.chat_session_ip_limit == 20
    made = [await client.post("/chat/sessions", json={}) for _ in range(15)]
    made += [await replica.post("/chat/sessions", json={}) for _ in range(5)]
    assert {r.status_code for r in made} == {201}
    refused = await client.post("/chat/sessions", json={})
    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "too many new chat sessions from your address" in refused.json()["detail"]
    assert refused.json()["error"] == "TooManyRequestsError"
    assert (await replica.post("/chat/sessions", json={})).status_code == 429
    transport = httpx.ASGITransport(app=app, client=("203.0.113.50", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://triad.test") as other:
        assert (await other.post("/chat/sessions", json={})).status_code == 201
