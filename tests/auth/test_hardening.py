"""Review findings on auth: odd headers, parallel guesses, argon2 off the loop, security headers,
session lifetime, and service tokens that cannot claim."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from tests.api.conftest import STAFF_HEADERS
from tests.api.helpers import HALLUCINATED, open_session, script_roles
from triad.api.security_headers import SECURITY_HEADERS, SecurityHeadersMiddleware
from triad.auth import users
from triad.auth.lockout import AccountLockedError
from triad.auth.passwords import verify_password
from triad.auth.users import authenticate, create_user, set_password
from triad.db.models import Escalation, User, UserSession
from triad.runtime import Runtime
from triad.settings import Settings

PASSWORD = "correct horse battery staple"
EMAIL = "sam@example.com"


async def _user(session: AsyncSession, role: str = "staff") -> User:
    return await create_user(session, EMAIL, PASSWORD, role, display_name="Sam")


async def _login(client: httpx.AsyncClient, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/auth/login", json={"email": EMAIL, "password": password})


# --- 1. odd Authorization headers are a 401, never a 500 --------------------------------------

ODD_HEADERS = [
    "Bearer café".encode(),  # UTF-8 bytes, read back by the server as latin-1 text
    b"Bearer caf\xe9",  # a raw latin-1 byte
    "Bearer triad_café".encode(),  # looks like a per-user API token
    "Bearer ☃".encode(),
]


@pytest.mark.parametrize("authorization", ODD_HEADERS)
async def test_a_non_ascii_bearer_is_refused_not_a_500(
    app: FastAPI, client: httpx.AsyncClient, authorization: bytes
) -> None:
    headers = {b"Authorization": authorization}
    api = await client.get("/escalations", headers=headers)
    assert api.status_code == 401, api.text
    assert api.json()["detail"] == "staff credentials are missing or wrong"
    page = await client.get("/staff/escalations", headers=headers)
    assert page.status_code in (303, 401), page.text
    assert (await client.get("/auth/me", headers=headers)).status_code == 401


# --- 2. parallel wrong passwords cannot bypass the lockout ------------------------------------


async def test_parallel_wrong_passwords_still_lock_the_account(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    settings: Settings = app.state.settings
    assert settings.login_max_failures == 5
    user = await _user(session)
    answers = await asyncio.gather(*(_login(client, "not the password") for _ in range(8)))
    assert {a.status_code for a in answers} <= {401, 429}
    right = await _login(client)
    assert right.status_code == 429, right.text
    fresh = await session.scalar(
        select(User).where(User.id == user.id).execution_options(populate_existing=True)
    )
    assert fresh is not None
    assert fresh.locked_until is not None and fresh.locked_until > datetime.now(UTC)


async def test_a_right_password_racing_the_locking_guess_is_refused(
    app: FastAPI, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The good login verified its password before the lock; resetting the counter must not
    undo a lock a parallel guess set in between."""
    settings: Settings = app.state.settings
    user = await _user(session)
    real_verify = verify_password

    def verify_then_lock(password_hash: str, password: str) -> bool:
        ok = real_verify(password_hash, password)
        asyncio.run(_lock_meanwhile(app, user.id))  # another replica locks the account
        return ok

    monkeypatch.setattr(users, "verify_password", verify_then_lock)
    async with app.state.session_factory() as db:
        with pytest.raises(AccountLockedError):
            await authenticate(db, EMAIL, PASSWORD, settings=settings, client="test")
    fresh = await session.scalar(
        select(User).where(User.id == user.id).execution_options(populate_existing=True)
    )
    assert fresh is not None and fresh.locked_until is not None


async def _lock_meanwhile(app: FastAPI, user_id: int) -> None:
    from sqlalchemy import update
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(app.state.session_factory.kw["bind"].url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(User)
                .where(User.id == user_id)
                .values(locked_until=datetime.now(UTC) + timedelta(minutes=15))
            )
    finally:
        await engine.dispose()


# --- 3. argon2 runs in a worker thread, never on the event loop --------------------------------


def _recording(fn: Callable[..., Any], name: str, seen: list[tuple[str, str]]) -> Any:
    def wrapper(*args: Any) -> Any:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            seen.append((name, "thread"))
        else:
            seen.append((name, "event loop"))
        return fn(*args)

    return wrapper


async def test_argon2_work_runs_off_the_event_loop(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    from argon2 import PasswordHasher

    seen: list[tuple[str, str]] = []
    for name in ("hash_password", "verify_password", "burn_dummy_verify", "rehash_password"):
        monkeypatch.setattr(users, name, _recording(getattr(users, name), name, seen))
    user = await _user(session)  # hash
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    await session.commit()
    assert (await _login(client)).status_code == 200  # verify + rehash
    assert (await _login(client, "wrong")).status_code == 401  # verify
    ghost = await client.post("/auth/login", json={"email": "ghost@x.test", "password": "x"})
    assert ghost.status_code == 401  # dummy verify
    await set_password(session, EMAIL, PASSWORD + "!")  # hash
    assert {name for name, _ in seen} == {
        "hash_password",
        "verify_password",
        "burn_dummy_verify",
        "rehash_password",
    }
    assert [where for _, where in seen] == ["thread"] * len(seen), seen


# --- 4. security headers on pages, APIs, errors and streams ----------------------------------


def _assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


async def test_every_response_forbids_framing(app: FastAPI, client: httpx.AsyncClient) -> None:
    responses = [
        await client.get("/"),
        await client.get("/login"),
        await client.get("/escalations", headers=STAFF_HEADERS),
        await client.get("/escalations"),  # 401
        await client.get("/staff/escalations"),  # 303 to the login page
        await client.get("/no/such/path"),  # 404
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 401, 303, 404]
    for response in responses:
        _assert_security_headers(response)


async def test_security_headers_leave_a_streamed_body_intact() -> None:
    async def pieces() -> AsyncIterator[bytes]:
        for n in range(3):
            yield f"data: {n}\n\n".encode()

    async def stream(request: Request) -> StreamingResponse:
        return StreamingResponse(pieces(), media_type="text/event-stream")

    inner = Starlette(routes=[Route("/stream", stream)])
    transport = httpx.ASGITransport(app=SecurityHeadersMiddleware(inner))
    async with httpx.AsyncClient(transport=transport, base_url="http://t.test") as c:
        response = await c.get("/stream")
    assert response.text == "data: 0\n\ndata: 1\n\ndata: 2\n\n"
    assert response.headers["content-type"].startswith("text/event-stream")
    _assert_security_headers(response)
    assert len(SECURITY_HEADERS) == 4


# --- 5. sessions end: absolute lifetime, and a login replaces the old session ------------------


async def _session_row(session: AsyncSession) -> UserSession:
    rows = (
        await session.scalars(select(UserSession).execution_options(populate_existing=True))
    ).all()
    assert len(rows) == 1, rows
    return rows[0]


async def test_a_session_in_constant_use_still_ends_after_max_days(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    settings: Settings = app.state.settings
    assert settings.session_max_days == 7
    await _user(session)
    assert (await _login(client)).status_code == 200
    row = await _session_row(session)
    now = datetime.now(UTC)
    row.created_at = now - timedelta(days=7, minutes=1)
    row.last_seen_at = now - timedelta(seconds=5)  # used a moment ago
    row.expires_at = now + timedelta(hours=11)  # the sliding expiry alone would allow it
    await session.commit()
    assert (await client.get("/auth/me")).status_code == 401
    session.expunge_all()
    assert (await session.scalars(select(UserSession))).all() == []


async def test_sliding_never_pushes_expiry_past_the_absolute_end(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _user(session)
    assert (await _login(client)).status_code == 200
    row = await _session_row(session)
    now = datetime.now(UTC)
    created = now - timedelta(days=7) + timedelta(minutes=30)
    row.created_at = created
    row.last_seen_at = now - timedelta(minutes=5)  # due for a touch
    await session.commit()
    assert (await client.get("/auth/me")).status_code == 200
    touched = await _session_row(session)
    assert touched.last_seen_at > now - timedelta(minutes=1)  # the touch happened
    assert touched.expires_at <= created + timedelta(days=7)


async def test_signing_in_again_ends_the_session_the_browser_held(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _user(session)
    assert (await _login(client)).status_code == 200
    first_cookie = client.cookies["triad_session"]
    first = await _session_row(session)
    assert (await _login(client)).status_code == 200  # the old cookie is sent along
    second = await _session_row(session)  # exactly one row left
    assert second.id != first.id
    assert client.cookies["triad_session"] != first_cookie
    client.cookies.clear()
    stale = await client.get("/auth/me", headers={"Cookie": f"triad_session={first_cookie}"})
    assert stale.status_code == 401


async def test_the_login_form_also_replaces_a_planted_session(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    import re

    await _user(session, role="admin")
    page = await client.get("/login")  # the form, fetched before the session existed
    assert (await _login(client)).status_code == 200
    planted = await _session_row(session)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    form = {"email": EMAIL, "password": PASSWORD, "csrf_token": match.group(1), "next": ""}
    assert (await client.post("/login", data=form)).status_code == 303
    assert (await _session_row(session)).id != planted.id


# --- 7. service tokens can reply but not claim -----------------------------------------------


async def test_a_service_token_cannot_claim_but_can_reply(
    app: FastAPI, client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    script_roles(runtime, HALLUCINATED, HALLUCINATED)
    sid, auth = await open_session(client)
    await client.post(f"/chat/sessions/{sid}/messages", json={"content": "wagyu?"}, headers=auth)
    case = (await client.get("/escalations", headers=STAFF_HEADERS)).json()[0]["id"]

    refused = await client.post(f"/escalations/{case}/claim", headers=STAFF_HEADERS)
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] == (
        "claiming needs a staff account; service tokens can reply but not claim"
    )
    escalation = await session.get(Escalation, case)
    assert escalation is not None
    assert (escalation.status, escalation.claimed_by) == ("open", None)
    missing = await client.post("/escalations/999999/claim", headers=STAFF_HEADERS)
    assert missing.status_code == 404

    replied = await client.post(
        f"/escalations/{case}/reply", json={"text": "No wagyu, sorry."}, headers=STAFF_HEADERS
    )
    assert replied.status_code == 200, replied.text
    assert replied.json()["escalation"]["status"] == "resolved"
