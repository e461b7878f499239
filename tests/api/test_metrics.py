"""`GET /metrics`: Prometheus text with request counts per route template, provider calls and
their latency per provider/model, and customer turns."""

from __future__ import annotations

import uuid

import httpx
import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.api.helpers import GROUNDED, open_session, script_roles
from tests.support.scripted import ScriptedProvider
from triad import metrics
from triad.api.middleware import MetricsMiddleware
from triad.runtime import Runtime

Labels = dict[str, str]


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "XAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of `/metrics`, by name and labels, parsed by prometheus-client's parser."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_requests_are_counted_by_route_template_not_raw_path(
    client: httpx.AsyncClient,
) -> None:
    before = await scrape(client)
    missing = uuid.uuid4()
    for _ in range(2):
        assert (await client.get(f"/chat/sessions/{missing}")).status_code == 404
    assert (await client.get(f"/no/such/{missing}")).status_code == 404
    after = await scrape(client)

    template = {"method": "GET", "route": "/chat/sessions/{session_id}", "status": "404"}
    assert (
        value(after, "triad_http_requests_total", **template)
        - value(before, "triad_http_requests_total", **template)
        == 2
    )
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert (
        value(after, "triad_http_requests_total", **unmatched)
        == value(before, "triad_http_requests_total", **unmatched) + 1
    )
    assert not any(str(missing) in dict(labels).get("route", "") for _, labels in after)
    latency = {"method": "GET", "route": "/chat/sessions/{session_id}"}
    assert (
        value(after, "triad_http_request_seconds_count", **latency)
        - value(before, "triad_http_request_seconds_count", **latency)
        == 2
    )


@pytest.mark.usefixtures("keyed")  # /llm/complete needs an API key
async def test_provider_calls_and_their_latency_are_exported_per_model(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    runtime.use_provider("local:smollm2-135m", ScriptedProvider("Paris."))
    before = await scrape(client)
    for i in range(3):
        prompt = f"Capital of country {i}?"  # distinct prompts: repeats would be cache hits
        response = await client.post(
            "/llm/complete", json={"task_type": "qa", "prompt": prompt, "priority": "low"}
        )
        assert response.status_code == 200, response.text
    after = await scrape(client)

    model = {"provider": "local", "model": "smollm2-135m"}
    calls = "triad_provider_calls_total"
    assert (
        value(after, calls, **model, outcome="ok") - value(before, calls, **model, outcome="ok")
        == 3
    )
    count = "triad_provider_latency_seconds_count"
    assert value(after, count, **model) - value(before, count, **model) == 3
    assert value(after, "triad_provider_latency_seconds_bucket", **model, le="+Inf") >= 3
    route = {"method": "POST", "route": "/llm/complete", "status": "200"}
    http = "triad_http_requests_total"
    assert value(after, http, **route) - value(before, http, **route) == 3


async def test_answered_turns_are_counted_by_agent_and_decision(
    client: httpx.AsyncClient, runtime: Runtime, demo: None
) -> None:
    script_roles(runtime, GROUNDED, GROUNDED)
    sid, auth = await open_session(client)
    before = await scrape(client)
    turn = await client.post(
        f"/chat/sessions/{sid}/messages", json={"content": "Do you serve wagyu beef?"}, headers=auth
    )
    assert turn.status_code == 200, turn.text
    after = await scrape(client)
    labels = {"agent": "menu", "decision": "send"}
    assert (
        value(after, "triad_turns_total", **labels) - value(before, "triad_turns_total", **labels)
        == 1
    )


async def test_the_middleware_times_a_request_with_its_clock() -> None:
    ticks = iter([10.0, 10.25])

    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hi", status_code=201)

    app = MetricsMiddleware(
        Starlette(routes=[Route("/hello/{name}", hello)]), clock=lambda: next(ticks)
    )
    labels = {"method": "GET", "route": "/hello/{name}"}
    sample = "triad_http_request_seconds_sum"
    before = metrics.REGISTRY.get_sample_value(sample, labels) or 0.0
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/hello/ada")).status_code == 201
    assert (metrics.REGISTRY.get_sample_value(sample, labels) or 0.0) - before == 0.25
    counted = metrics.REGISTRY.get_sample_value(
        "triad_http_requests_total", {**labels, "status": "201"}
    )
    assert counted is not None and counted >= 1


@pytest.mark.usefixtures("keyed")  # /llm/complete needs an API key
async def test_cache_hits_are_counted_and_cost_no_provider_call(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    runtime.use_provider("local:smollm2-135m", ScriptedProvider("Paris."))
    before = await scrape(client)
    body = {"task_type": "qa", "prompt": "Capital of France?", "priority": "low"}
    answers = [(await client.post("/llm/complete", json=body)).json() for _ in range(3)]
    after = await scrape(client)
    assert [a["cached"] for a in answers] == [False, True, True]
    assert {a["text"] for a in answers} == {"Paris."}
    model = {"provider": "local", "model": "smollm2-135m"}
    calls = "triad_provider_calls_total"
    assert (
        value(after, calls, **model, outcome="ok") - value(before, calls, **model, outcome="ok")
        == 1
    )
    hits = value(after, "triad_cache_lookups_total", kind="exact", result="hit") - value(
        before, "triad_cache_lookups_total", kind="exact", result="hit"
    )
    assert hits == 2
