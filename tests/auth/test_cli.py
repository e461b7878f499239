"""`triad create-user`, `create-token`, `revoke-token`: passwords from stdin, secrets hashed."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner, Result

from tests.conftest import TEST_DATABASE
from triad.auth.passwords import verify_password
from triad.cli import app
from triad.db.models import ApiToken, User
from triad.settings import get_settings

runner = CliRunner()
PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _cli_uses_test_database(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[None]:
    monkeypatch.setenv("TRIAD_DATABASE_NAME", TEST_DATABASE)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def _invoke(*args: str, stdin: str | None = None) -> Result:
    return await asyncio.to_thread(runner.invoke, app, list(args), input=stdin)


async def test_create_user_reads_the_password_from_stdin(session: AsyncSession) -> None:
    result = await _invoke(
        "create-user",
        "--email",
        " Boss@Example.COM ",
        "--role",
        "admin",
        "--name",
        "The Boss",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "created admin boss@example.com" in result.output
    assert PASSWORD not in result.output
    user = await session.scalar(select(User).where(User.email == "boss@example.com"))
    assert user is not None
    assert (user.role, user.display_name, user.is_active) == ("admin", "The Boss", True)
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, PASSWORD)


async def test_duplicate_email_exits_2_and_keeps_the_first(session: AsyncSession) -> None:
    first = await _invoke(
        "create-user", "--email", "a@example.com", "--password-stdin", stdin=PASSWORD
    )
    assert first.exit_code == 0, first.output
    again = await _invoke(
        "create-user", "--email", "A@example.com", "--password-stdin", stdin="another password!"
    )
    assert again.exit_code == 2
    assert "already exists" in again.output
    rows = list(await session.scalars(select(User)))
    assert len(rows) == 1
    assert verify_password(rows[0].password_hash, PASSWORD)


async def test_short_password_and_bad_role_exit_2(session: AsyncSession) -> None:
    short = await _invoke("create-user", "--email", "b@example.com", "--password-stdin", stdin="x")
    assert short.exit_code == 2
    assert "at least 12 characters" in short.output
    role = await _invoke(
        "create-user", "--email", "b@example.com", "--role", "owner", "--password-stdin"
    )
    assert role.exit_code == 2
    assert "role must be one of staff, admin" in role.output
    assert list(await session.scalars(select(User))) == []


async def test_prompt_asks_twice_and_hides_input(session: AsyncSession) -> None:
    result = await _invoke(
        "create-user", "--email", "c@example.com", stdin=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("Password") >= 1
    assert "Repeat for confirmation" in result.output
    assert PASSWORD not in result.output


async def test_token_is_printed_once_and_stored_hashed(session: AsyncSession) -> None:
    await _invoke("create-user", "--email", "d@example.com", "--password-stdin", stdin=PASSWORD)
    made = await _invoke("create-token", "--email", "d@example.com", "--name", "reports")
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("triad_") and len(secret) > 40
    row = await session.scalar(select(ApiToken))
    assert row is not None
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(row.prefix) and len(row.prefix) < len(secret)
    assert row.revoked_at is None

    revoked = await _invoke("revoke-token", "--email", "d@example.com", "--name", "reports")
    assert revoked.exit_code == 0, revoked.output
    await session.refresh(row)
    assert row.revoked_at is not None
    missing = await _invoke("revoke-token", "--email", "d@example.com", "--name", "reports")
    assert missing.exit_code == 2
    assert "no live token named 'reports'" in missing.output


async def test_token_for_unknown_user_exits_2(session: AsyncSession) -> None:
    result = await _invoke("create-token", "--email", "ghost@example.com", "--name", "x")
    assert result.exit_code == 2
    assert "no user with email 'ghost@example.com'" in result.output
