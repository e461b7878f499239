"""Keys for the machine APIs: required by default, hashed, limited to models, a budget and a
rate, made by admins (API and CLI), and carried by the usage rows they paid for."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from tests.api.conftest import ADMIN_HEADERS, STAFF_HEADERS, make_api_key
from tests.api.helpers import GROUNDED, script_roles
from tests.conftest import TEST_DATABASE
from tests.support.scripted import ScriptedProvider
from triad.api import create_app
from triad.cli import app as cli_app
from triad.db.models import ApiKey, ProviderCall
from triad.runtime import Runtime
from triad.settings import Settings, get_settings

LOCAL = "local:smollm2-135m"
COMPLETE = {"task_type": "qa", "prompt": "Capital of France?", "priority": "low"}
CHAT = {"model": "triad/auto", "messages": [{"role": "user", "content": "Capital of France?"}]}


@pytest.fixture(autouse=True)
def _scripted(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "XAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    runtime.use_provider(LOCAL, ScriptedProvider("Paris."))


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def calls(session: AsyncSession) -> list[ProviderCall]:
    session.expire_all()
    return list(await session.scalars(select(ProviderCall).order_by(ProviderCall.id)))


# --- required by default ------------------------------------------------------------------------


async def test_the_machine_apis_refuse_a_call_without_a_key(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    llm = await client.post("/llm/complete", json=COMPLETE)
    assert llm.status_code == 401, llm.text
    assert "API key is required" in llm.json()["detail"]
    assert "triad keys create" in llm.json()["detail"]
    for method, path, body in (
        ("POST", "/v1/chat/completions", CHAT),
        ("GET", "/v1/models", None),
    ):
        response = await client.request(method, path, json=body)
        assert response.status_code == 401, (path, response.text)
        error = response.json()["error"]  # OpenAI's envelope, so the SDK reads it
        assert error["type"] == "authentication_error" and "API key" in error["message"]
    assert await calls(session) == []  # refused before any model was called


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer sk-triad-not-a-real-key",
        "Bearer triad_a-staff-api-token",
        f"Bearer {ADMIN_HEADERS['Authorization'].split()[1]}",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
    ],
)
async def test_a_wrong_key_or_another_credential_is_401(
    client: httpx.AsyncClient, authorization: str
) -> None:
    response = await client.post(
        "/llm/complete", json=COMPLETE, headers={"Authorization": authorization}
    )
    assert response.status_code == 401, response.text
    sdk_shaped = await client.post(
        "/v1/chat/completions", json=CHAT, headers={"Authorization": authorization}
    )
    assert sdk_shaped.status_code == 401


async def test_anonymous_use_is_an_explicit_opt_in(
    settings: Settings, database_url: str, session: AsyncSession
) -> None:
    assert Settings().allow_anonymous_api is False  # the default: keys required
    open_app = create_app(
        settings.model_copy(update={"allow_anonymous_api": True, "scheduler": False}),
        database_url=database_url,
    )
    async with open_app.router.lifespan_context(open_app):
        open_app.state.runtime.use_provider(LOCAL, ScriptedProvider("Paris."))
        transport = httpx.ASGITransport(app=open_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as anonymous:
            done = await anonymous.post("/llm/complete", json=COMPLETE)
            assert done.status_code == 200, done.text
            # a key that is sent is still checked
            wrong = await anonymous.post(
                "/llm/complete", json=COMPLETE, headers=bearer("sk-triad-x")
            )
            assert wrong.status_code == 401
    assert [c.api_key_id for c in await calls(session)] == [None]


# --- stored hashed, carried by the usage rows -----------------------------------------------


async def test_a_key_is_stored_only_as_its_hash_and_its_calls_carry_it(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    secret = await make_api_key(app, name="billing")
    assert secret.startswith("sk-triad-") and len(secret) > 40
    row = await session.scalar(select(ApiKey).where(ApiKey.name == "billing"))
    assert row is not None
    assert row.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {row.key_hash, row.prefix} and secret.startswith(row.prefix)
    key_id = row.id

    assert (await client.post("/llm/complete", json=COMPLETE, headers=bearer(secret))).is_success
    chat = await client.post("/v1/chat/completions", json=CHAT, headers=bearer(secret))
    assert chat.status_code == 200, chat.text
    stream = await client.post(
        "/v1/chat/completions",
        json={**CHAT, "stream": True, "messages": [{"role": "user", "content": "Streamed?"}]},
        headers=bearer(secret),
    )
    assert stream.status_code == 200 and stream.text.endswith("data: [DONE]\n\n")
    rows = await calls(session)
    assert len([r for r in rows if r.outcome == "ok"]) == 3  # skipped models are rows too
    assert {r.api_key_id for r in rows} == {key_id}
    used = await session.get(ApiKey, key_id)
    assert used is not None and used.last_used_at is not None


async def test_a_checked_agent_turn_carries_the_key_on_its_rows(
    app: FastAPI, client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession, demo: None
) -> None:
    secret = await make_api_key(app)
    script_roles(runtime, GROUNDED, GROUNDED)
    body = {"model": "triad/menu", "messages": [{"role": "user", "content": "Do you serve wagyu?"}]}
    done = await client.post("/v1/chat/completions", json=body, headers=bearer(secret))
    assert done.status_code == 200, done.text
    rows = await calls(session)
    assert rows and all(r.message_id is not None for r in rows)
    key_id = await session.scalar(select(ApiKey.id))
    assert {r.api_key_id for r in rows} == {key_id}


# --- allowed models, rate limit, budget -------------------------------------------------------


async def test_a_key_limited_to_some_models_gets_403_for_others(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    secret = await make_api_key(app, allowed_models=["triad/menu", "local:*"])
    other = await client.post(
        "/v1/chat/completions", json={**CHAT, "model": "openai:gpt-4o-mini"}, headers=bearer(secret)
    )
    assert other.status_code == 403, other.text
    message = other.json()["error"]["message"]
    assert "may not use the model 'openai:gpt-4o-mini'" in message and "triad/menu" in message
    router = await client.post("/llm/complete", json=COMPLETE, headers=bearer(secret))
    assert router.status_code == 403 and "'triad/auto'" in router.json()["detail"]
    assert await calls(session) == []

    allowed = await client.post(
        "/v1/chat/completions", json={**CHAT, "model": LOCAL}, headers=bearer(secret)
    )
    assert allowed.status_code == 200, allowed.text
    listed = await client.get("/v1/models", headers=bearer(secret))
    ids = {m["id"] for m in listed.json()["data"]}
    assert "triad/menu" in ids and LOCAL in ids
    assert "triad/auto" not in ids and "openai:gpt-4o-mini" not in ids


async def test_over_the_rate_limit_is_429_with_retry_after(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    limited = await make_api_key(app, name="limited", rpm_limit=2)
    other = await make_api_key(app, name="other", rpm_limit=2)
    for _ in range(2):
        ok = await client.post("/llm/complete", json=COMPLETE, headers=bearer(limited))
        assert ok.status_code == 200, ok.text
    over = await client.post("/llm/complete", json=COMPLETE, headers=bearer(limited))
    assert over.status_code == 429, over.text
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert "over its limit of 2 requests per minute" in over.json()["detail"]
    facade = await client.post("/v1/chat/completions", json=CHAT, headers=bearer(limited))
    assert facade.status_code == 429
    assert facade.json()["error"]["type"] == "rate_limit_error" and "Retry-After" in facade.headers
    assert facade.headers["x-should-retry"] == "false"
    # another key has its own window
    assert (await client.post("/llm/complete", json=COMPLETE, headers=bearer(other))).is_success
    answered = [r for r in await calls(session) if r.outcome in ("ok", "cache_hit")]
    assert len(answered) == 3  # the refused requests never reached a model


async def test_a_spent_budget_is_429_naming_it(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    secret = await make_api_key(app, name="capped", budget_usd=0.05, budget_days=30)
    free = await make_api_key(app, name="free")
    key_id = await session.scalar(select(ApiKey.id).where(ApiKey.name == "capped"))
    old = datetime.now(UTC) - timedelta(days=40)
    session.add_all(
        [
            ProviderCall(
                provider="openai",
                model="m",
                cost_usd=1.0,
                outcome="ok",
                api_key_id=key_id,
                created_at=old,
            ),
            ProviderCall(
                provider="openai", model="m", cost_usd=0.03, outcome="ok", api_key_id=key_id
            ),
            ProviderCall(provider="openai", model="m", cost_usd=9.0, outcome="ok"),  # no key
        ]
    )
    await session.commit()
    under = await client.post("/llm/complete", json=COMPLETE, headers=bearer(secret))
    assert under.status_code == 200, under.text  # $0.03 in the last 30 days, the $1 is older

    session.add(
        ProviderCall(provider="openai", model="m", cost_usd=0.02, outcome="ok", api_key_id=key_id)
    )
    await session.commit()
    over = await client.post("/llm/complete", json=COMPLETE, headers=bearer(secret))
    assert over.status_code == 429, over.text
    body = over.json()
    assert body["error"] == "BudgetExceededError" and body["budget"] == "api key capped"
    assert "has spent $0.0500 of its $0.05 budget over the last 30 days" in body["detail"]
    facade = await client.post("/v1/chat/completions", json=CHAT, headers=bearer(secret))
    assert facade.status_code == 429 and "budget" in facade.json()["error"]["message"]
    assert (await client.post("/llm/complete", json=COMPLETE, headers=bearer(free))).is_success


# --- made, listed and revoked by admins -------------------------------------------------------


async def test_admins_make_list_and_revoke_keys_over_the_api(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    spec = {
        "name": "reports",
        "owner": "data team",
        "allowed_models": ["triad/auto"],
        "budget_usd": 5,
        "rpm_limit": 60,
    }
    assert (
        await client.post("/admin/api/keys", json=spec, headers=STAFF_HEADERS)
    ).status_code == 403
    made = await client.post("/admin/api/keys", json=spec, headers=ADMIN_HEADERS)
    assert made.status_code == 201, made.text
    created = made.json()
    secret = created["secret"]
    assert created["owner"] == "data team" and created["created_by"] == "admin service token"
    assert (await client.post("/llm/complete", json=COMPLETE, headers=bearer(secret))).is_success

    listed = (await client.get("/admin/api/keys", headers=ADMIN_HEADERS)).json()
    assert [k["name"] for k in listed] == ["reports"]
    assert "secret" not in listed[0] and secret not in str(listed)
    assert listed[0]["budget_usd"] == 5 and listed[0]["rpm_limit"] == 60

    revoked = await client.delete(f"/admin/api/keys/{created['id']}", headers=ADMIN_HEADERS)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    refused = await client.post("/llm/complete", json=COMPLETE, headers=bearer(secret))
    assert refused.status_code == 401 and "wrong or revoked" in refused.json()["detail"]
    again = await client.delete(f"/admin/api/keys/{created['id']}", headers=ADMIN_HEADERS)
    assert again.status_code == 409
    assert (await client.delete("/admin/api/keys/999", headers=ADMIN_HEADERS)).status_code == 404
    assert (await client.get("/admin/api/keys", headers=ADMIN_HEADERS)).json() == []


@pytest.mark.parametrize(
    "spec",
    [
        {"owner": "x"},
        {"name": " ", "owner": "x"},
        {"name": "a", "owner": "x", "budget_usd": -1},
        {"name": "a", "owner": "x", "rpm_limit": 0},
        {"name": "a", "owner": "x", "allowed_models": [""]},
        {"name": "a", "owner": "x", "secret": "mine"},
    ],
)
async def test_a_bad_key_spec_is_422(client: httpx.AsyncClient, spec: dict[str, object]) -> None:
    response = await client.post("/admin/api/keys", json=spec, headers=ADMIN_HEADERS)
    assert response.status_code == 422, response.text


# --- the CLI ----------------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[None]:
    monkeypatch.setenv("TRIAD_DATABASE_NAME", TEST_DATABASE)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def test_keys_create_list_revoke_from_the_cli(
    cli_env: None, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(cli_app, ["keys", *args])
        return result.exit_code, result.stdout, result.stderr

    code, stdout, stderr = await asyncio.to_thread(
        run,
        "create",
        "--name",
        "etl",
        "--owner",
        "ops",
        "--models",
        "triad/auto,local:*",
        "--rpm",
        "5",
    )
    assert code == 0, stderr
    secret = stdout.strip()
    assert secret.startswith("sk-triad-") and "shown only now" in stderr
    row = await session.scalar(select(ApiKey))
    assert row is not None and row.allowed_models == ["triad/auto", "local:*"]
    assert row.rpm_limit == 5 and row.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert (await client.post("/llm/complete", json=COMPLETE, headers=bearer(secret))).is_success

    code, stdout, _ = await asyncio.to_thread(run, "list")
    assert code == 0 and "etl" in stdout and "ops" in stdout and secret not in stdout
    code, stdout, _ = await asyncio.to_thread(run, "revoke", str(row.id))
    assert code == 0 and "revoked key" in stdout
    assert (
        await client.post("/llm/complete", json=COMPLETE, headers=bearer(secret))
    ).status_code == 401
    code, _, stderr = await asyncio.to_thread(run, "revoke", str(row.id))
    assert code == 2 and "already revoked" in stderr
    code, _, stderr = await asyncio.to_thread(
        run, "create", "--name", "x", "--owner", "y", "--rpm", "0"
    )
    assert code == 2 and "rpm_limit" in stderr
