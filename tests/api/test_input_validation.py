"""Input that cannot be stored is a 422 naming where it is, before any route or model runs:
NUL and other control characters, lone surrogates, ids beyond a bigint, JSON nested too deep;
a body over the limit is a 413 before it is parsed. Error bodies never echo undecodable input."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import ADMIN_HEADERS, STAFF_HEADERS
from tests.api.helpers import GROUNDED, count_rows, open_session
from tests.support.scripted import ScriptedProvider
from triad.api.input_guard import BIGINT_MAX
from triad.db.models import Conversation, Message, ProviderCall, UserSession
from triad.runtime import Runtime

TOO_BIG = BIGINT_MAX + 1


def raw_json(text: str) -> dict[str, str]:
    """Headers for a hand-written JSON body (so it can carry `\\ud800` escapes)."""
    return {"Content-Type": "application/json"}


def assert_refused(response: httpx.Response, where: str, what: str) -> None:
    """A 422 in the app's error shape, naming the field and the problem."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "InputError"
    assert body["detail"].startswith(f"{where}: "), body
    assert what in body["detail"], body
    assert body["errors"][0]["loc"] == where.split(".")


def script_everything(runtime: Runtime) -> list[ScriptedProvider]:
    """Every registry model answers from a script, so a call to any of them is seen."""
    scripted = []
    for spec in runtime.registry:
        provider = ScriptedProvider(GROUNDED)
        runtime.use_provider(spec.id, provider)
        scripted.append(provider)
    return scripted


# --- text: NUL, control characters, surrogates ------------------------------------------------


async def test_nul_in_login_is_a_422_naming_the_field(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post("/auth/login", json={"email": "a\x00@b.c", "password": "x"})
    assert_refused(response, "body.email", "NUL character (U+0000)")
    refused = await client.post("/auth/login", json={"email": "a@b.c", "password": "p\x00w"})
    assert_refused(refused, "body.password", "NUL")
    assert await count_rows(session, UserSession) == 0


async def test_a_lone_surrogate_in_login_is_a_422_whose_body_encodes(
    client: httpx.AsyncClient,
) -> None:
    body = '{"email": "\\ud800@triad.test", "password": "\\udfff"}'
    response = await client.post("/auth/login", content=body, headers=raw_json(body))
    assert_refused(response, "body.email", "lone UTF-16 surrogate (U+D800)")
    assert "\\ud800" not in response.text and "\ud800" not in response.text


async def test_nul_when_opening_a_chat_session(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post("/chat/sessions", json={"customer_ref": "crm\x00-1"})
    assert_refused(response, "body.customer_ref", "NUL")
    assert await count_rows(session, Conversation) == 0


async def test_nul_in_a_chat_message_calls_no_model_and_saves_nothing(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession
) -> None:
    scripted = script_everything(runtime)
    session_id, headers = await open_session(client)
    response = await client.post(
        f"/chat/sessions/{session_id}/messages",
        json={"content": "Do you serve wagyu?\x00"},
        headers=headers,
    )
    assert_refused(response, "body.content", "NUL")
    assert all(not p.history for p in scripted), "a model was called"
    assert await count_rows(session, Message) == 0


async def test_other_control_characters_are_refused_but_tab_and_newlines_pass(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    bell = await client.post("/chat/sessions", json={"customer_ref": "a\x07b"})
    assert_refused(bell, "body.customer_ref", "control character (U+0007)")
    fine = await client.post("/chat/sessions", json={"customer_ref": "line 1\n\tline 2\r\n"})
    assert fine.status_code == 201, fine.text


async def test_nul_in_llm_complete_calls_no_model(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession
) -> None:
    scripted = script_everything(runtime)
    response = await client.post(
        "/llm/complete", json={"task_type": "qa", "prompt": "Capital of France?\x00"}
    )
    assert_refused(response, "body.prompt", "NUL")
    assert all(not p.history for p in scripted)
    assert await count_rows(session, ProviderCall) == 0


async def test_nul_on_v1_is_a_400_in_openais_envelope_and_calls_no_model(
    client: httpx.AsyncClient, runtime: Runtime, session: AsyncSession
) -> None:
    scripted = script_everything(runtime)
    response = await client.post(
        "/v1/chat/completions",
        json={"model": "triad/auto", "messages": [{"role": "user", "content": "hi\x00"}]},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == "body.messages[0].content"
    assert "NUL" in error["message"] and error["type"] == "invalid_request_error"
    assert response.headers["x-should-retry"] == "false"
    assert all(not p.history for p in scripted)
    assert await count_rows(session, ProviderCall) == 0


async def test_nul_in_a_query_parameter_and_in_a_path(client: httpx.AsyncClient) -> None:
    query = await client.get("/knowledge/search", params={"q": "wagyu\x00"})
    assert_refused(query, "query.q", "NUL")
    path = await client.get("/admin/api/experiments/a%00b", headers=ADMIN_HEADERS)
    assert_refused(path, "path", "NUL")


async def test_nul_in_a_flag_value_stored_as_jsonb(client: httpx.AsyncClient) -> None:
    response = await client.put(
        "/admin/api/flags/dialogue",
        json={"enabled": True, "value": {"note": "x\x00"}},
        headers=ADMIN_HEADERS,
    )
    assert_refused(response, "body.value.note", "NUL")


async def test_nul_in_a_console_form(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/login", data={"email": "a\x00@b.c", "password": "x", "csrf_token": "t"}
    )
    assert_refused(response, "body.email", "NUL")


# --- ids beyond a bigint ------------------------------------------------------------------------


async def test_feedback_on_an_id_beyond_bigint_is_a_422(client: httpx.AsyncClient) -> None:
    _, headers = await open_session(client)
    response = await client.post(
        f"/chat/messages/{TOO_BIG}/feedback", json={"value": "up"}, headers=headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"] in {"InputError", "ValidationError"}
    largest = await client.post(
        f"/chat/messages/{BIGINT_MAX}/feedback", json={"value": "up"}, headers=headers
    )
    assert largest.status_code == 404, largest.text


@pytest.mark.parametrize("action", ["claim", "reply"])
async def test_escalation_ids_beyond_bigint_are_a_422(
    client: httpx.AsyncClient, action: str
) -> None:
    body = {"text": "Yes, we do."} if action == "reply" else None
    response = await client.post(
        f"/escalations/{TOO_BIG}/{action}", json=body, headers=STAFF_HEADERS
    )
    assert response.status_code == 422, response.text
    page = await client.get(f"/staff/escalations/{TOO_BIG}", headers=STAFF_HEADERS)
    assert page.status_code == 422, page.text


@pytest.mark.parametrize("action", ["approve", "reject"])
async def test_lesson_actions_on_ids_beyond_bigint_are_a_422(
    client: httpx.AsyncClient, action: str
) -> None:
    api = await client.post(f"/admin/api/lessons/{TOO_BIG}/{action}", headers=ADMIN_HEADERS)
    assert api.status_code == 422, api.text
    page = await client.post(f"/admin/lessons/{TOO_BIG}/{action}", headers=ADMIN_HEADERS)
    assert page.status_code == 422, page.text


async def test_an_integer_beyond_bigint_in_a_body(client: httpx.AsyncClient) -> None:
    response = await client.put(
        "/admin/api/flags/dialogue",
        json={"enabled": True, "value": {"n": 2**70}},
        headers=ADMIN_HEADERS,
    )
    assert_refused(response, "body.value.n", "out of range")


# --- body size, malformed JSON, nesting ----------------------------------------------------------


@pytest.fixture
def small_limit(app: FastAPI) -> int:
    """The limit the app was built with (the default)."""
    limit: int = app.state.settings.max_body_bytes
    return limit


async def test_a_body_over_the_limit_is_a_413_before_it_is_parsed(
    client: httpx.AsyncClient, runtime: Runtime, small_limit: int
) -> None:
    scripted = script_everything(runtime)
    prompt = "x" * small_limit
    response = await client.post("/llm/complete", json={"task_type": "qa", "prompt": prompt})
    assert response.status_code == 413, response.text
    assert response.json()["error"] == "RequestTooLarge"
    assert str(small_limit) in response.json()["detail"]
    v1 = await client.post(
        "/v1/chat/completions",
        json={"model": "triad/auto", "messages": [{"role": "user", "content": prompt}]},
    )
    assert v1.status_code == 413 and "error" in v1.json()
    assert all(not p.history for p in scripted)


async def test_a_chunked_body_over_the_limit_is_a_413(
    client: httpx.AsyncClient, small_limit: int
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"task_type": "qa", "prompt": "'
        for _ in range(small_limit // 1024 + 1):
            yield b"y" * 1024
        yield b'"}'

    response = await client.post(
        "/llm/complete", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413, response.text


async def test_malformed_and_deeply_nested_json_are_422s(client: httpx.AsyncClient) -> None:
    broken = await client.post("/chat/sessions", content=b'{"agent": ', headers=raw_json(""))
    assert_refused(broken, "body", "not valid JSON")
    deep = "[" * 100_000 + "]" * 100_000
    nested = await client.post("/chat/sessions", content=deep, headers=raw_json(deep))
    assert_refused(nested, "body", "nested more than")
    latin = await client.post("/auth/login", content=b'{"email": "\xff"}', headers=raw_json(""))
    assert_refused(latin, "body", "not valid UTF-8")


async def test_a_schema_422_has_the_same_shape_and_no_echoed_input(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/auth/login", json={"email": "ab", "password": "x"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "ValidationError" and isinstance(body["detail"], str)
    assert body["errors"][0]["loc"] == ["body", "email"]
    assert "input" not in body["errors"][0]
    assert json.dumps(body).count("ab") == 0
