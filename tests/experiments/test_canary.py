"""The canary ramps step by step while it stays within bounds, holds when it does not, and
rolls itself back when real calls to it (a loopback OpenAI-compatible server) fail too often."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import ADMIN_HEADERS
from tests.api.helpers import GROUNDED, HALLUCINATED, script_roles
from tests.experiments.conftest import MakeApp
from tests.routing.test_loopback import answer
from tests.support.loopback import LoopbackServer, Reply
from tests.support.scripted import ScriptedProvider
from triad.db.models import Experiment, ExperimentEvent, ProviderCall
from triad.experiments.bucketing import assign
from triad.experiments.store import canary_shares
from triad.providers import OpenAIProvider
from triad.runtime import Runtime

URL = "/admin/api/experiments"
CANARY_MODEL = "anthropic:claude-haiku-4-5"

AGENT_CANARY = f"""
experiments:
  - key: student-canary
    kind: canary
    target_kind: agent
    target: menu
    arms:
      - name: baseline
      - name: canary
        student_model: "{CANARY_MODEL}"
    canary:
      steps: [1, 5, 25]
      min_requests_per_step: 3
      rollback_min_requests: 50
      evaluate_every_seconds: 0
      p95_slack_ms: 60000  # these tests judge errors; a loaded machine's latency must not
"""


def users_in(arm: str, salt: str, step: float, count: int) -> list[str]:
    shares = list(zip(("baseline", "canary"), canary_shares(step), strict=True))
    found = (u for u in (f"user-{n}" for n in range(200_000)) if assign(salt, u, shares) == arm)
    return [next(found) for _ in range(count)]


async def ask(client: httpx.AsyncClient, user_id: str) -> None:
    sid = (await client.post("/chat/sessions", json={})).json()
    turn = await client.post(
        f"/chat/sessions/{sid['session_id']}/messages",
        json={"content": "Do you serve wagyu?", "agent": "menu", "user_id": user_id},
        headers={"X-Session-Token": sid["token"]},
    )
    assert turn.status_code == 200, turn.text


async def load(session: AsyncSession, key: str) -> Experiment:
    session.expire_all()
    row = await session.scalar(select(Experiment).where(Experiment.key == key))
    assert row is not None
    return row


async def test_the_canary_ramps_one_step_per_batch_within_bounds(
    make_app: MakeApp, session: AsyncSession, demo: None
) -> None:
    app, client = await make_app(AGENT_CANARY)
    script_roles(app.state.runtime, GROUNDED, GROUNDED)
    canary = ScriptedProvider(GROUNDED, model="canary")
    app.state.runtime.use_provider(CANARY_MODEL, canary)
    assert (await client.post(f"{URL}/student-canary/start", headers=ADMIN_HEADERS)).is_success
    row = await load(session, "student-canary")
    assert [a["share_bps"] for a in row.arms] == [9900, 100]

    for user in users_in("baseline", "student-canary", 1, 2):
        await ask(client, user)
    for user in users_in("canary", "student-canary", 1, 2):  # below min_requests_per_step
        await ask(client, user)
    assert (await load(session, "student-canary")).canary["step"] == 0
    await ask(client, users_in("canary", "student-canary", 1, 3)[-1])
    row = await load(session, "student-canary")
    assert (row.canary["step"], [a["share_bps"] for a in row.arms]) == (1, [9500, 500])
    assert len(canary.history) == 3

    for user in users_in("canary", "student-canary", 5, 3):  # the next step counts afresh
        await ask(client, user)
    row = await load(session, "student-canary")
    assert (row.canary["step"], [a["share_bps"] for a in row.arms]) == (2, [7500, 2500])
    ramps = list(
        await session.scalars(
            select(ExperimentEvent)
            .where(ExperimentEvent.kind == "ramped")
            .order_by(ExperimentEvent.id)
        )
    )
    assert [(e.detail["from"], e.detail["to"]) for e in ramps] == [(1, 5), (5, 25)]
    assert ramps[0].detail["canary"]["calls"] == 3
    assert ramps[0].detail["canary"]["error_rate"] == 0.0


async def test_a_hallucinating_canary_is_held_at_its_step(
    make_app: MakeApp, session: AsyncSession, demo: None
) -> None:
    app, client = await make_app(AGENT_CANARY)
    script_roles(app.state.runtime, GROUNDED, GROUNDED)
    app.state.runtime.use_provider(CANARY_MODEL, ScriptedProvider(HALLUCINATED, model="canary"))
    await client.post(f"{URL}/student-canary/start", headers=ADMIN_HEADERS)
    for user in users_in("baseline", "student-canary", 1, 2):
        await ask(client, user)
    for user in users_in("canary", "student-canary", 1, 4):
        await ask(client, user)
    row = await load(session, "student-canary")
    assert row.canary["step"] == 0 and row.status == "running"
    held = list(
        await session.scalars(select(ExperimentEvent).where(ExperimentEvent.kind == "ramp_held"))
    )
    assert len(held) == 1  # recorded once per step, not once per turn
    assert "hallucination rate 100.0%" in held[0].detail["reason"]


TASK_CANARY = """
experiments:
  - key: summary-canary
    kind: canary
    target_kind: task_type
    target: summarize
    arms:
      - name: baseline
      - name: canary
        model: "openai:gpt-4o-mini"
    canary:
      steps: [10, 100]
      min_requests_per_step: 1000
      max_error_rate: 0.05
      rollback_min_requests: 20
      evaluate_every_seconds: 0
"""
# One model call per attempt and no breaker, so the error rate is the loopback's own.
QUIET_ROUTING = {
    "retry": {"max_attempts": 1},
    "breaker": {"enabled": False},
    "health": {"max_error_rate": 1.0},
    "routes": {"summarize": {"low": ["local:smollm2-135m"], "medium": ["local:smollm2-135m"],
                             "high": ["local:smollm2-135m"]}},
}  # fmt: skip


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(default=answer("a canary summary")) as loopback:
        yield loopback


async def test_real_failing_calls_roll_the_canary_back(
    make_app: MakeApp, session: AsyncSession, server: LoopbackServer
) -> None:
    app, client = await make_app(TASK_CANARY, routing=QUIET_ROUTING)
    runtime = app.state.runtime
    runtime.use_provider("local:smollm2-135m", ScriptedProvider("a baseline summary"))
    runtime.use_provider(
        "openai:gpt-4o-mini",
        OpenAIProvider(
            openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="test-key"), model="gpt-test"
        ),
    )
    # The canary's scripted error rate: every 5th call is a 500 (20%, above the 5% threshold).
    for _ in range(10):
        server.enqueue(*[answer("a canary summary")] * 4, Reply.error(500, "canary down"))
    assert (await client.post(f"{URL}/summary-canary/start", headers=ADMIN_HEADERS)).is_success
    canary_users = users_in("canary", "summary-canary", 10, 30)

    async def complete(user: str) -> httpx.Response:
        # A hot request is never served from the completion cache: every call is routed.
        body = {
            "task_type": "summarize",
            "prompt": "Summarise",
            "user_id": user,
            "temperature": 1.5,
        }
        return await client.post("/llm/complete", json=body)

    sent = 0
    for user in canary_users:
        done = await complete(user)
        sent += 1
        assert done.status_code == 200  # a failed canary call falls back to the baseline's
        row = await load(session, "summary-canary")
        if row.status == "rolled_back":
            break
    assert row.status == "rolled_back"
    assert [a["share_bps"] for a in row.arms] == [10_000, 0]
    assert row.status_reason and "exceeds 5.0%" in row.status_reason
    calls = list(
        await session.scalars(select(ProviderCall).where(ProviderCall.experiment_arm == "canary"))
    )
    failed = [c for c in calls if c.outcome == "error"]
    assert failed and all(c.model == "gpt-test" or c.model == "gpt-4o-mini" for c in failed)
    assert len(server.requests) == sent  # every canary request reached the loopback once
    event = await session.scalar(
        select(ExperimentEvent).where(ExperimentEvent.kind == "rolled_back")
    )
    assert event is not None and event.detail["calls"] >= 20
    # Judged on its own calls only: the fallbacks that answered for it do not dilute the rate.
    to_canary = len(server.requests)
    assert event.detail["calls"] == to_canary
    assert event.detail["error_rate"] == pytest.approx((to_canary // 5) / to_canary)

    before = len(server.requests)
    after = await complete(canary_users[-1])
    assert after.json()["model"] == "local:smollm2-135m"
    assert len(server.requests) == before  # rolled back: nobody is sent to the canary
    last = await session.scalar(select(ProviderCall).order_by(ProviderCall.id.desc()))
    assert last is not None and last.experiment_id is None


def loopback_canary(runtime: Runtime, server: LoopbackServer) -> None:
    """The baseline scripted, the canary model a real OpenAI client against the loopback."""
    runtime.use_provider("local:smollm2-135m", ScriptedProvider("a baseline summary"))
    runtime.use_provider(
        "openai:gpt-4o-mini",
        OpenAIProvider(
            openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="test-key"), model="gpt-test"
        ),
    )


async def complete(client: httpx.AsyncClient, user: str) -> httpx.Response:
    body = {"task_type": "summarize", "prompt": "Summarise", "user_id": user, "temperature": 1.5}
    done = await client.post("/llm/complete", json=body)
    assert done.status_code == 200, done.text
    return done


async def test_an_error_rate_over_the_baselines_but_under_the_max_holds_the_canary(
    make_app: MakeApp, session: AsyncSession, server: LoopbackServer
) -> None:
    """10% of the canary's calls fail: within max_error_rate (50%), so no rollback, but more
    than the baseline's 0% + max_error_increase (2%), so it stays at its step."""
    text = TASK_CANARY.replace("min_requests_per_step: 1000", "min_requests_per_step: 10")
    text = text.replace("max_error_rate: 0.05", "max_error_rate: 0.5")
    text = text.replace("rollback_min_requests: 20", "rollback_min_requests: 10")
    app, client = await make_app(text, routing=QUIET_ROUTING)
    loopback_canary(app.state.runtime, server)
    server.enqueue(*[answer("a canary summary")] * 9, Reply.error(500, "canary hiccup"))
    assert (await client.post(f"{URL}/summary-canary/start", headers=ADMIN_HEADERS)).is_success
    for user in users_in("baseline", "summary-canary", 10, 3):
        await complete(client, user)
    for user in users_in("canary", "summary-canary", 10, 12):
        await complete(client, user)
    assert len(server.requests) == 12
    row = await load(session, "summary-canary")
    assert (row.status, row.canary["step"]) == ("running", 0)
    assert [a["share_bps"] for a in row.arms] == [9000, 1000]
    kinds = list(await session.scalars(select(ExperimentEvent.kind).order_by(ExperimentEvent.id)))
    assert "rolled_back" not in kinds and "ramped" not in kinds
    held = await session.scalar(select(ExperimentEvent).where(ExperimentEvent.kind == "ramp_held"))
    assert held is not None
    assert held.detail["reason"] == "error rate 10.0% above 2.0%"
    assert held.detail["canary"]["calls"] == 10  # evaluated at the 10th call to the canary
    assert held.detail["baseline"]["error_rate"] == 0.0


async def test_the_canary_is_evaluated_at_most_once_per_interval(
    make_app: MakeApp, session: AsyncSession, demo: None
) -> None:
    """With a long interval only the first turn is evaluated (too few calls then), so the
    canary does not ramp even once it has enough calls."""
    text = AGENT_CANARY.replace("evaluate_every_seconds: 0", "evaluate_every_seconds: 3600")
    app, client = await make_app(text)
    script_roles(app.state.runtime, GROUNDED, GROUNDED)
    app.state.runtime.use_provider(CANARY_MODEL, ScriptedProvider(GROUNDED, model="canary"))
    assert (await client.post(f"{URL}/student-canary/start", headers=ADMIN_HEADERS)).is_success
    for user in users_in("canary", "student-canary", 1, 4):
        await ask(client, user)
    row = await load(session, "student-canary")
    assert row.canary["evaluate_every_seconds"] == 3600
    assert row.canary["step"] == 0
    kinds = set(await session.scalars(select(ExperimentEvent.kind)))
    assert "ramped" not in kinds
