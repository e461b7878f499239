"""Admin API of experiments, config sync at start, and experiment tags on a chat turn."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.conftest import ADMIN_HEADERS, STAFF_HEADERS
from tests.api.helpers import GROUNDED, script_roles
from tests.experiments.conftest import MakeApp
from tests.support.scripted import ScriptedProvider
from triad.db.models import Experiment, ExperimentEvent, Message, ProviderCall, TrainingSignal
from triad.errors import InvalidConfigError
from triad.experiments.bucketing import assign
from triad.experiments.config import ExperimentsConfig
from triad.experiments.store import sync_experiments
from triad_admin.experiments_page import METRICS

AB = """
experiments:
  - key: menu-ab
    description: a bigger student for the menu agent
    target_kind: agent
    target: menu
    arms:
      - {name: control, share: 50}
      - {name: bigger, share: 50, student_model: "anthropic:claude-haiku-4-5"}
"""
URL = "/admin/api/experiments"


async def experiment_id(session: AsyncSession, key: str = "menu-ab") -> int:
    row = await session.scalar(select(Experiment).where(Experiment.key == key))
    assert row is not None
    return row.id


async def test_config_is_synced_as_a_draft_and_listed(
    make_app: MakeApp, session: AsyncSession
) -> None:
    _, client = await make_app(AB)
    listed = await client.get(URL, headers=ADMIN_HEADERS)
    assert listed.status_code == 200
    (exp,) = listed.json()
    assert (exp["key"], exp["status"], exp["kind"]) == ("menu-ab", "draft", "ab")
    assert [(a["name"], a["share_percent"]) for a in exp["arms"]] == [
        ("control", 50),
        ("bigger", 50),
    ]
    kinds = await session.scalars(select(ExperimentEvent.kind))
    assert list(kinds) == ["defined"]


async def test_start_pause_stop_and_the_transitions_they_forbid(
    make_app: MakeApp, session: AsyncSession
) -> None:
    _, client = await make_app(AB)
    exp = await experiment_id(session)
    assert (await client.post(f"{URL}/{exp}/pause", headers=ADMIN_HEADERS)).status_code == 409
    started = await client.post(f"{URL}/menu-ab/start", headers=ADMIN_HEADERS)
    assert started.status_code == 200 and started.json()["status"] == "running"
    again = await client.post(f"{URL}/{exp}/start", headers=ADMIN_HEADERS)
    assert again.status_code == 409
    assert "it is running" in again.text
    paused = await client.post(f"{URL}/{exp}/pause", headers=ADMIN_HEADERS)
    assert paused.json()["status"] == "paused"
    stopped = await client.post(f"{URL}/{exp}/stop", headers=ADMIN_HEADERS)
    assert stopped.json()["status"] == "stopped"
    assert (await client.post(f"{URL}/{exp}/start", headers=ADMIN_HEADERS)).status_code == 409
    events = await session.scalars(
        select(ExperimentEvent.kind).where(ExperimentEvent.experiment_id == exp)
    )
    assert list(events) == ["defined", "start", "pause", "stop"]


async def test_unknown_experiments_are_404_and_staff_are_403(make_app: MakeApp) -> None:
    _, client = await make_app(AB)
    assert (await client.get(f"{URL}/999", headers=ADMIN_HEADERS)).status_code == 404
    missing = await client.post(f"{URL}/no-such/start", headers=ADMIN_HEADERS)
    assert missing.status_code == 404 and "no-such" in missing.text
    assert (await client.get(URL, headers=STAFF_HEADERS)).status_code == 403
    assert (await client.post(f"{URL}/menu-ab/start", headers=STAFF_HEADERS)).status_code == 403
    assert (await client.get(URL)).status_code == 401


async def test_only_one_experiment_runs_per_target(make_app: MakeApp) -> None:
    second = AB + AB.replace("experiments:\n", "").replace("menu-ab", "menu-ab-2")
    _, client = await make_app(second)
    assert (await client.post(f"{URL}/menu-ab/start", headers=ADMIN_HEADERS)).status_code == 200
    clash = await client.post(f"{URL}/menu-ab-2/start", headers=ADMIN_HEADERS)
    assert clash.status_code == 409 and "'menu-ab' is already running" in clash.text


async def ask(client: httpx.AsyncClient, user_id: str) -> int:
    sid = (await client.post("/chat/sessions", json={})).json()
    turn = await client.post(
        f"/chat/sessions/{sid['session_id']}/messages",
        json={"content": "Do you serve wagyu?", "agent": "menu", "user_id": user_id},
        headers={"X-Session-Token": sid["token"]},
    )
    assert turn.status_code == 200, turn.text
    message_id: int = turn.json()["message_id"]
    return message_id


def user_in(arm: str, salt: str = "menu-ab") -> str:
    shares = [("control", 5000), ("bigger", 5000)]
    return next(u for u in (f"u{n}" for n in range(1000)) if assign(salt, u, shares) == arm)


async def test_a_turn_records_the_experiment_on_message_calls_and_signal(
    make_app: MakeApp, session: AsyncSession, demo: None
) -> None:
    app, client = await make_app(AB)
    runtime = app.state.runtime
    script_roles(runtime, GROUNDED, GROUNDED)
    bigger = ScriptedProvider(GROUNDED, model="bigger")
    runtime.use_provider("anthropic:claude-haiku-4-5", bigger)
    exp = await experiment_id(session)
    await client.post(f"{URL}/{exp}/start", headers=ADMIN_HEADERS)

    message_id = await ask(client, user_in("bigger"))
    reply = await session.get(Message, message_id)
    assert reply is not None and (reply.experiment_id, reply.experiment_arm) == (exp, "bigger")
    calls = list(await session.scalars(select(ProviderCall)))
    assert calls and {(c.experiment_id, c.experiment_arm) for c in calls} == {(exp, "bigger")}
    assert {c.model for c in calls if c.role == "student"} == {"claude-haiku-4-5"}
    assert len(bigger.history) == 1  # the arm's student really answered
    signal = await session.scalar(
        select(TrainingSignal).where(TrainingSignal.message_id == message_id)
    )
    assert signal is not None and (signal.experiment_id, signal.experiment_arm) == (exp, "bigger")

    control_id = await ask(client, user_in("control"))
    control = await session.get(Message, control_id)
    assert control is not None and control.experiment_arm == "control"
    assert len(bigger.history) == 1

    report = await client.get(f"{URL}/{exp}", headers=ADMIN_HEADERS)
    assert report.status_code == 200
    body = report.json()
    assert {m["arm"]: m["turns"] for m in body["metrics"]} == {"control": 1, "bigger": 1}
    assert all(c["verdict"].startswith("too early to call") for c in body["comparisons"])

    await client.post(f"{URL}/{exp}/pause", headers=ADMIN_HEADERS)
    paused_id = await ask(client, user_in("bigger"))
    paused = await session.get(Message, paused_id)
    assert paused is not None and paused.experiment_id is None
    assert len(bigger.history) == 1  # paused: everyone is on the baseline


async def test_the_console_page_charts_each_metric(
    make_app: MakeApp, session: AsyncSession
) -> None:
    _, client = await make_app(AB)
    exp = await experiment_id(session)
    listing = await client.get("/admin/experiments", headers=ADMIN_HEADERS)
    assert listing.status_code == 200 and "menu-ab" in listing.text
    page = await client.get(f"/admin/experiments/{exp}", headers=ADMIN_HEADERS)
    assert page.status_code == 200
    assert "Hallucination rate" in page.text and "too early to call" in page.text
    assert (await client.get(f"/admin/experiments/{exp}", headers=STAFF_HEADERS)).status_code == 403


async def test_concurrent_starts_on_one_target_let_exactly_one_run(
    make_app: MakeApp, session: AsyncSession
) -> None:
    second = AB + AB.replace("experiments:\n", "").replace("menu-ab", "menu-ab-2")
    _, client = await make_app(second)
    for _ in range(3):  # several rounds: without the target lock both usually win
        first, other = await asyncio.gather(
            client.post(f"{URL}/menu-ab/start", headers=ADMIN_HEADERS),
            client.post(f"{URL}/menu-ab-2/start", headers=ADMIN_HEADERS),
        )
        assert sorted([first.status_code, other.status_code]) == [200, 409]
        session.expire_all()
        running = list(
            await session.scalars(select(Experiment.key).where(Experiment.status == "running"))
        )
        assert len(running) == 1
        winner = running[0]
        assert (await client.post(f"{URL}/{winner}/pause", headers=ADMIN_HEADERS)).is_success


async def test_ids_that_are_not_bigints_are_looked_up_as_keys(make_app: MakeApp) -> None:
    _, client = await make_app(AB)
    for ref in ("99999999999999999999", "%C2%B2", "12345678901234567890123"):
        got = await client.get(f"{URL}/{ref}", headers=ADMIN_HEADERS)
        assert got.status_code == 404, (ref, got.text)
        assert "not found" in got.text
    started = await client.post(f"{URL}/99999999999999999999/start", headers=ADMIN_HEADERS)
    assert started.status_code == 404


async def test_an_experiment_removed_from_config_is_paused_on_sync(
    make_app: MakeApp, session: AsyncSession
) -> None:
    second = AB + AB.replace("experiments:\n", "").replace("menu-ab", "other-ab").replace(
        "target: menu", "target: pricing"
    )
    _, client = await make_app(second)
    assert (await client.post(f"{URL}/menu-ab/start", headers=ADMIN_HEADERS)).is_success
    assert (await client.post(f"{URL}/other-ab/start", headers=ADMIN_HEADERS)).is_success
    assert (await client.post(f"{URL}/other-ab/pause", headers=ADMIN_HEADERS)).is_success
    only_draft = ExperimentsConfig.model_validate({"experiments": []})
    assert sorted(await sync_experiments(session, only_draft)) == ["menu-ab", "other-ab"]
    session.expire_all()
    rows = {r.key: r for r in await session.scalars(select(Experiment))}
    assert {k: (r.status, r.status_reason) for k, r in rows.items()} == {
        "menu-ab": ("paused", "removed from config"),
        "other-ab": ("paused", "removed from config"),
    }
    removed = list(
        await session.scalars(
            select(ExperimentEvent).where(ExperimentEvent.kind == "removed_from_config")
        )
    )
    assert sorted(e.detail["from"] for e in removed) == ["paused", "running"]
    assert await sync_experiments(session, only_draft) == []  # recorded once
    assert (await client.get(f"{URL}/menu-ab", headers=ADMIN_HEADERS)).json()["experiment"][
        "status"
    ] == "paused"


async def test_an_arm_whose_student_is_the_teacher_stops_the_app_naming_it(
    make_app: MakeApp,
) -> None:
    teacher_twin = AB.replace("anthropic:claude-haiku-4-5", "extractive:passages")
    with pytest.raises(InvalidConfigError) as caught:
        await make_app(teacher_twin)
    message = str(caught.value)
    assert "experiment 'menu-ab', arm 'bigger'" in message
    assert "student_model 'extractive:passages' is also the teacher" in message


async def test_the_console_page_with_traffic_has_one_chart_per_metric(
    make_app: MakeApp, session: AsyncSession, demo: None
) -> None:
    app, client = await make_app(AB)
    script_roles(app.state.runtime, GROUNDED, GROUNDED)
    app.state.runtime.use_provider(
        "anthropic:claude-haiku-4-5", ScriptedProvider(GROUNDED, model="bigger")
    )
    exp = await experiment_id(session)
    await client.post(f"{URL}/{exp}/start", headers=ADMIN_HEADERS)
    for arm in ("control", "bigger"):
        sid = (await client.post("/chat/sessions", json={})).json()
        headers = {"X-Session-Token": sid["token"]}
        turn = await client.post(
            f"/chat/sessions/{sid['session_id']}/messages",
            json={"content": "Do you serve wagyu?", "agent": "menu", "user_id": user_in(arm)},
            headers=headers,
        )
        assert turn.status_code == 200, turn.text
        voted = await client.post(
            f"/chat/messages/{turn.json()['message_id']}/feedback",
            json={"value": "up"},
            headers=headers,
        )
        assert voted.status_code == 200, voted.text
    page = await client.get(f"/admin/experiments/{exp}", headers=ADMIN_HEADERS)
    assert page.status_code == 200
    charts = re.findall(r"<svg .*?</svg>", page.text, flags=re.S)
    labelled = [c for c in charts if 'role="img" aria-label=' in c]
    assert len(labelled) == len(METRICS)
    for (_, title, _, _), chart in zip(METRICS, labelled, strict=True):
        assert f'aria-label="{title}"' in chart
        assert "control" in chart and "bigger" in chart
    assert "95% CI" in page.text


async def test_the_ci_label_follows_the_configured_alpha(
    make_app: MakeApp, session: AsyncSession, tmp_path: Path
) -> None:
    _, client = await make_app(
        AB.replace("target_kind: agent", "alpha: 0.1\n    target_kind: agent")
    )
    page = await client.get("/admin/experiments/menu-ab", headers=ADMIN_HEADERS)
    assert "Difference (90% CI)" in page.text and "95% CI" not in page.text
