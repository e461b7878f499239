"""Guesses sent all at once against a real server cannot get past the 5-failure lockout.

The app is served by uvicorn on a free loopback port over the real database, and 20 sign-ins
are sent at once. The per-address limit is off here (a botnet sends from many addresses), so
only the account's own lock stands between the guesses and the password hash.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from triad.api import create_app
from triad.auth import passwords, users
from triad.auth.users import create_user
from triad.db.models import User
from triad.settings import Settings

EMAIL = "sam@example.com"
PASSWORD = "correct horse battery staple"
GUESSES = 20


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password the server really hashed (argon2 runs in worker threads)."""
    seen: list[str] = []
    lock = threading.Lock()
    real = passwords.verify_password

    def counting(password_hash: str, password: str) -> bool:
        with lock:
            seen.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(users, "verify_password", counting)
    return seen


@pytest.fixture
async def server(settings: Settings, database_url: str) -> AsyncIterator[str]:
    app = create_app(
        settings.model_copy(update={"scheduler": False, "login_ip_limit": 0}),
        database_url=database_url,
    )
    async with app.router.lifespan_context(app):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(app, log_level="warning", lifespan="off", http="h11", ws="none")
        served = uvicorn.Server(config)
        task = asyncio.create_task(served.serve(sockets=[sock]))
        while not served.started:
            assert not task.done(), "uvicorn stopped while starting"
            await asyncio.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            served.should_exit = True
            await task
            sock.close()


async def _at_once(base_url: str, passwords: list[str]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(passwords))
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as http:
        return await asyncio.gather(
            *(http.post("/auth/login", json={"email": EMAIL, "password": p}) for p in passwords)
        )


async def _row(session: AsyncSession) -> User:
    user = await session.scalar(
        select(User).where(User.email == EMAIL).execution_options(populate_existing=True)
    )
    assert user is not None
    return user


async def test_twenty_parallel_guesses_check_at_most_five_and_then_lock(
    server: str, session: AsyncSession, checked: list[str]
) -> None:
    await create_user(session, EMAIL, PASSWORD, "staff")
    wrong = [f"wrong guess number {n}" for n in range(GUESSES)]
    answers = await _at_once(server, wrong)
    codes = [a.status_code for a in answers]
    assert len(checked) <= 5, f"{len(checked)} passwords were hashed"
    assert codes.count(401) == len(checked) and codes.count(429) == GUESSES - len(checked)
    assert all("Retry-After" in a.headers for a in answers if a.status_code == 429)
    user = await _row(session)
    assert user.locked_until is not None and user.locked_until > datetime.now(UTC)

    right = await _at_once(server, [PASSWORD])
    assert right[0].status_code == 429, right[0].text
    assert PASSWORD not in checked  # refused before its hash, like every guess after the lock


async def test_the_right_password_among_parallel_guesses_gets_in_only_if_it_was_checked(
    server: str, session: AsyncSession, checked: list[str]
) -> None:
    await create_user(session, EMAIL, PASSWORD, "staff")
    guesses = [f"wrong guess number {n}" for n in range(GUESSES - 1)] + [PASSWORD]
    answers = await _at_once(server, guesses)
    assert len(checked) <= 5, f"{len(checked)} passwords were hashed"
    right = answers[-1]
    if PASSWORD in checked:  # among the first five: a sign-in within the allowance
        assert right.status_code in (200, 429)
    else:
        assert right.status_code == 429, right.text
    assert sum(a.status_code == 200 for a in answers) <= 1
    assert {a.status_code for a in answers} <= {200, 401, 429}
