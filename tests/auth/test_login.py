"""Sign in and out: the cookie's flags, generic failures, lockout, CSRF, API tokens, logout."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import STAFF_EMAIL, USER_PASSWORD
from triad.auth.users import create_token, create_user, revoke_token
from triad.db.models import ApiToken, User, UserSession

PASSWORD = "correct horse battery staple"


async def _user(session: AsyncSession, email: str = "sam@example.com", role: str = "staff") -> User:
    return await create_user(session, email, PASSWORD, role, display_name="Sam")


def _set_cookie(response: httpx.Response, name: str) -> str:
    header = next(h for h in response.headers.get_list("set-cookie") if h.startswith(name + "="))
    return header.lower()


def _hidden_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


async def test_json_login_sets_an_httponly_samesite_cookie(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await _user(session)
    response = await client.post(
        "/auth/login", json={"email": " SAM@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"] == {
        "id": user.id,
        "email": "sam@example.com",
        "role": "staff",
        "display_name": "Sam",
    }
    cookie = _set_cookie(response, "triad_session")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    assert "secure" not in cookie  # plain http in the test; auto turns it on for https
    row = await session.scalar(select(UserSession))
    assert row is not None
    token = client.cookies["triad_session"]
    assert row.id != token and len(row.id) == 64  # only the hash is stored
    assert row.csrf_token == body["csrf_token"]
    me = await client.get("/auth/me")
    assert me.status_code == 200
    assert me.json()["via"] == "session"
    assert me.json()["user"]["email"] == "sam@example.com"


async def test_wrong_password_and_unknown_email_get_the_same_401(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _user(session)
    wrong = await client.post("/auth/login", json={"email": "sam@example.com", "password": "x"})
    ghost = await client.post("/auth/login", json={"email": "ghost@example.com", "password": "x"})
    assert wrong.status_code == ghost.status_code == 401
    assert wrong.json()["detail"] == ghost.json()["detail"] == "email or password is wrong"
    assert "triad_session" not in client.cookies


async def test_five_failures_lock_the_account_until_locked_until_passes(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await _user(session)
    good = {"email": "sam@example.com", "password": PASSWORD}
    bad = {"email": "sam@example.com", "password": "not the password"}
    for _ in range(5):
        assert (await client.post("/auth/login", json=bad)).status_code == 401
    locked = await client.post("/auth/login", json=good)
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert "too many failed attempts" in locked.json()["detail"]
    await session.refresh(user)
    assert user.locked_until is not None and user.locked_until > datetime.now(UTC)

    user.locked_until = datetime.now(UTC) - timedelta(seconds=1)
    await session.commit()
    assert (await client.post("/auth/login", json=good)).status_code == 200
    fresh = await session.scalar(
        select(User).where(User.id == user.id).execution_options(populate_existing=True)
    )
    assert fresh is not None
    assert (fresh.failed_logins, fresh.locked_until) == (0, None)


async def test_a_success_resets_the_failure_count(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await _user(session)
    bad = {"email": "sam@example.com", "password": "not the password"}
    for _ in range(4):
        await client.post("/auth/login", json=bad)
    await session.refresh(user)
    assert user.failed_logins == 4
    ok = await client.post("/auth/login", json={"email": "sam@example.com", "password": PASSWORD})
    assert ok.status_code == 200
    assert (await client.post("/auth/login", json=bad)).status_code == 401  # not locked
    await session.refresh(user)
    assert user.failed_logins == 1


async def test_unknown_emails_are_throttled_like_accounts(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    bad = {"email": "ghost@example.com", "password": "guess"}
    for _ in range(5):
        assert (await client.post("/auth/login", json=bad)).status_code == 401
    throttled = await client.post("/auth/login", json=bad)
    assert throttled.status_code == 429
    assert "Retry-After" in throttled.headers
    other = {"email": "other-ghost@example.com", "password": "guess"}
    assert (await client.post("/auth/login", json=other)).status_code == 401


async def test_rehash_on_login_when_parameters_are_outdated(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    from argon2 import PasswordHasher

    user = await _user(session)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    user.password_hash = weak
    await session.commit()
    ok = await client.post("/auth/login", json={"email": "sam@example.com", "password": PASSWORD})
    assert ok.status_code == 200
    await session.refresh(user)
    assert user.password_hash != weak
    assert "m=65536" in user.password_hash


async def test_login_form_uses_a_double_submit_token(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _user(session, role="admin")
    page = await client.get("/login")
    assert page.status_code == 200
    token = _hidden_csrf(page.text)
    assert client.cookies["triad_login_csrf"] == token
    form = {"email": "sam@example.com", "password": PASSWORD, "next": ""}

    forged = await client.post("/login", data={**form, "csrf_token": "forged"})
    assert forged.status_code == 403
    assert "triad_session" not in client.cookies

    wrong = await client.post("/login", data={**form, "password": "nope", "csrf_token": token})
    assert wrong.status_code == 401
    assert "email or password is wrong" in wrong.text

    ok = await client.post("/login", data={**form, "csrf_token": token})
    assert ok.status_code == 303
    assert ok.headers["location"] == "/admin"
    assert "httponly" in _set_cookie(ok, "triad_session")


async def test_locked_login_form_says_how_long_to_wait(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await _user(session)
    user.locked_until = datetime.now(UTC) + timedelta(minutes=14, seconds=30)
    await session.commit()
    token = _hidden_csrf((await client.get("/login")).text)
    locked = await client.post(
        "/login", data={"email": "sam@example.com", "password": PASSWORD, "csrf_token": token}
    )
    assert locked.status_code == 429
    assert "too many failed attempts, try again in 15 minutes" in locked.text


async def test_next_must_be_a_local_path(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _user(session)
    page = await client.get("/login?next=https://evil.example/x")
    assert 'name="next" value=""' in page.text

    async def login(target: str) -> httpx.Response:
        client.cookies.clear()
        token = _hidden_csrf((await client.get("/login")).text)
        form = {"email": "sam@example.com", "password": PASSWORD, "csrf_token": token}
        return await client.post("/login", data={**form, "next": target})

    for evil in ("https://evil.example", "//evil.example/x", "/\\evil.example", "javascript:x"):
        response = await login(evil)
        assert response.status_code == 303
        assert response.headers["location"] == "/staff", evil
    kept = await login("/staff/escalations?status=open")
    assert kept.headers["location"] == "/staff/escalations?status=open"


async def test_pages_send_anonymous_visitors_to_login_with_next(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await client.get("/staff/escalations?status=open")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fstaff%2Fescalations%3Fstatus%3Dopen"


async def test_staff_on_an_admin_page_gets_the_403_page(
    app: FastAPI, staff_client: httpx.AsyncClient
) -> None:
    response = await staff_client.get("/admin", headers={"Accept": "text/html"})
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "needs the admin role" in response.text
    api = await staff_client.get("/admin/api/costs", headers={"Accept": "text/html"})
    assert api.status_code == 403
    assert api.json()["error"] == "ForbiddenError"


async def test_unsafe_session_requests_need_the_csrf_token(
    app: FastAPI, staff_client: httpx.AsyncClient
) -> None:
    csrf = staff_client.headers.pop("X-CSRF-Token")
    bare = await staff_client.post("/escalations/999999/reply", json={"text": "hello"})
    assert bare.status_code == 403
    assert "CSRF token missing or wrong" in bare.json()["detail"]
    wrong = await staff_client.post(
        "/escalations/999999/reply", json={"text": "hello"}, headers={"X-CSRF-Token": "nope"}
    )
    assert wrong.status_code == 403
    ok = await staff_client.post(
        "/escalations/999999/reply", json={"text": "hello"}, headers={"X-CSRF-Token": csrf}
    )
    assert ok.status_code == 404  # passed authentication and CSRF; the case does not exist
    # reads need no token
    assert (await staff_client.get("/escalations")).status_code == 200
    # a form carries it in the csrf_token field
    no_field = await staff_client.post("/logout", data={})
    assert no_field.status_code == 403
    assert (await staff_client.get("/auth/me")).status_code == 200
    out = await staff_client.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 303
    assert out.headers["location"] == "/login"


async def test_bearer_tokens_act_as_their_user_until_revoked(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await _user(session)
    token = await create_token(session, "sam@example.com", "script")
    headers = {"Authorization": f"Bearer {token.secret}"}
    me = await client.get("/auth/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["via"] == "token"
    assert me.json()["csrf_token"] is None
    # no CSRF for bearer calls: this reaches the route (404 for the missing case)
    reply = await client.post("/escalations/999999/reply", json={"text": "x"}, headers=headers)
    assert reply.status_code == 404
    row = await session.scalar(select(ApiToken))
    assert row is not None
    await session.refresh(row)
    assert row.last_used_at is not None

    await revoke_token(session, "sam@example.com", "script")
    assert (await client.get("/escalations", headers=headers)).status_code == 401
    bogus = {"Authorization": "Bearer triad_not-a-real-token"}
    assert (await client.get("/escalations", headers=bogus)).status_code == 401


async def test_logout_invalidates_the_session(
    app: FastAPI, staff_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    cookie = staff_client.cookies["triad_session"]
    out = await staff_client.post("/auth/logout")
    assert out.status_code == 204
    assert await session.scalar(select(UserSession)) is None
    # replaying the old cookie no longer works
    staff_client.cookies.set("triad_session", cookie, domain="triad.test")
    assert (await staff_client.get("/auth/me")).status_code == 401
    assert (await staff_client.get("/escalations")).status_code == 401
    page = await staff_client.get("/staff")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login?next=")


async def test_expired_sessions_are_refused_and_deleted(
    app: FastAPI, staff_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    row = await session.scalar(select(UserSession))
    assert row is not None
    row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    await session.commit()
    assert (await staff_client.get("/auth/me")).status_code == 401
    session.expunge_all()
    assert await session.scalar(select(UserSession)) is None


async def test_deactivated_users_lose_their_session(
    app: FastAPI, staff_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    from triad.auth.users import deactivate

    assert (await staff_client.get("/auth/me")).status_code == 200
    await deactivate(session, STAFF_EMAIL)
    assert (await staff_client.get("/auth/me")).status_code == 401
    refused = await staff_client.post(
        "/auth/login", json={"email": STAFF_EMAIL, "password": USER_PASSWORD}
    )
    assert refused.status_code == 401


async def test_secure_cookie_on_https(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await create_user(session, "sec@example.com", "correct horse battery", "staff")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://triad.test") as https:
        response = await https.post(
            "/auth/login", json={"email": "sec@example.com", "password": "correct horse battery"}
        )
    assert response.status_code == 200
    cookie = response.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie
