"""One chat turn, exported over OTLP/HTTP to a real receiver, arrives as one GenAI trace."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.api.conftest import demo
from tests.api.helpers import GROUNDED, HALLUCINATED, open_session
from tests.conftest import truncate_all
from tests.observability.receiver import ReceivedSpan, Receiver, serve_receiver
from tests.support.scripted import ScriptedProvider
from triad.api import create_app
from triad.db.models import CriticEvaluation, Escalation, Message, TrainingSignal
from triad.errors import ProviderUnavailableError
from triad.observability import genai
from triad.runtime import Runtime
from triad.settings import Settings

__all__ = ["demo"]

QUESTION = "Do you serve wagyu beef? I'm Sarah, call me at 555-123-4567."
SERVER, INTERNAL, CLIENT = 2, 1, 3  # OTLP span kinds
STATUS_ERROR = 2

OTEL_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    genai.CAPTURE_VARIABLE,
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve_receiver()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
async def traced_app(
    clean_env: pytest.MonkeyPatch,
    receiver: Receiver,
    settings: Settings,
    database_url: str,
    engine: AsyncEngine,
) -> AsyncIterator[FastAPI]:
    clean_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    clean_env.setenv("OTEL_SERVICE_NAME", "triad-under-test")
    app = create_app(settings.model_copy(update={"scheduler": False}), database_url=database_url)
    async with app.router.lifespan_context(app):
        yield app
    await truncate_all(engine)


def script(runtime: Runtime, *, teacher: str = GROUNDED) -> None:
    """Teacher grounded (by default); student fails once with a 503 (the router retries it),
    then makes something up, which the critic refutes."""
    profile = runtime.config.active(runtime.settings.ensemble_profile)
    runtime.use_provider(profile.teacher.model, ScriptedProvider(teacher))
    runtime.use_provider(
        profile.student.model,
        ScriptedProvider(ProviderUnavailableError("upstream said 503"), HALLUCINATED),
    )


async def run_turn(app: FastAPI) -> str:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://triad.test") as client:
        sid, auth = await open_session(client)
        turn = await client.post(
            f"/chat/sessions/{sid}/messages", json={"content": QUESTION}, headers=auth
        )
        assert turn.status_code == 200, turn.text
    return sid


def one(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, (name, [s.name for s in spans])
    return found[0]


def children(spans: list[ReceivedSpan], parent: ReceivedSpan) -> list[ReceivedSpan]:
    """Triad's own spans under `parent` (SQL statements, budget checks and such left out)."""
    return [s for s in spans if s.parent_id == parent.span_id and s.scope == "triad"]


async def test_a_chat_turn_is_one_genai_trace_over_otlp_http(
    traced_app: FastAPI, receiver: Receiver, session: AsyncSession, demo: None
) -> None:
    runtime: Runtime = traced_app.state.runtime
    script(runtime)
    profile = runtime.config.active(runtime.settings.ensemble_profile)
    sid = await run_turn(traced_app)
    assert traced_app.state.tracing.provider.force_flush(10_000)

    assert receiver.requests, "nothing was exported"
    assert all(r["content-type"] == "application/x-protobuf" for r in receiver.requests)
    server = one(receiver.spans, "POST /chat/sessions/{session_id}/messages")
    assert server.kind == SERVER and server.service == "triad-under-test"
    spans = [s for s in receiver.spans if s.trace_id == server.trace_id]

    agent = one(spans, "invoke_agent menu")
    assert agent.parent_id == server.span_id and agent.kind == INTERNAL
    attrs = agent.attributes
    assert attrs["gen_ai.operation.name"] == "invoke_agent"
    assert attrs["gen_ai.agent.name"] == "menu"
    assert attrs["gen_ai.conversation.id"] == sid
    reply = await session.scalar(select(Message).where(Message.role == "assistant"))
    evaluation = await session.scalar(select(CriticEvaluation))
    assert reply is not None and evaluation is not None
    assert attrs["triad.decision"] == reply.decision
    assert attrs["triad.escalated"] is (reply.decision != "send")
    assert attrs["triad.winner"] == "teacher"
    assert attrs["triad.consensus"] == pytest.approx(evaluation.consensus)
    assert "gen_ai.input.messages" not in attrs, "content captured without being asked to"

    retrieval = one(spans, "retrieval knowledge/demo")
    assert retrieval.parent_id == agent.span_id
    assert retrieval.attributes["gen_ai.operation.name"] == "retrieval"
    assert retrieval.attributes["gen_ai.data_source.id"] == "knowledge/demo"
    assert retrieval.attributes["triad.retrieval.passages"] > 0
    assert "gen_ai.retrieval.query.text" not in retrieval.attributes

    roles = {s.attributes.get("triad.role"): s for s in children(spans, agent)}
    teacher, student = roles["teacher"], roles["student"]
    t_provider, t_model = genai.provider_and_model(profile.teacher.model)
    s_provider, s_model = genai.provider_and_model(profile.student.model)
    assert teacher.name == f"chat {t_model}" and student.name == f"chat {s_model}"
    for span, provider, model in ((teacher, t_provider, t_model), (student, s_provider, s_model)):
        a = span.attributes
        assert span.kind == CLIENT
        assert a["gen_ai.operation.name"] == "chat"
        assert a["gen_ai.provider.name"] == provider
        assert a["gen_ai.request.model"] == model
        assert a["gen_ai.response.model"] == "scripted"
        assert a["gen_ai.conversation.id"] == sid
        assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
        assert "gen_ai.input.messages" not in a and "gen_ai.output.messages" not in a
        assert "error.type" not in a
    assert student.attributes["gen_ai.request.max_tokens"] == profile.student.max_tokens

    # the router's calls are children of the role's span: the student's 503, then its retry
    calls = sorted(children(spans, student), key=lambda s: s.attributes["triad.attempt.retry"])
    assert [c.name for c in calls] == [f"chat {s_model}", f"chat {s_model}"]
    assert [c.attributes["triad.attempt.retry"] for c in calls] == [0, 1]
    assert calls[0].attributes["error.type"] == "ProviderUnavailableError"
    assert calls[0].status_code == STATUS_ERROR
    assert "error.type" not in calls[1].attributes
    assert calls[1].attributes["gen_ai.response.model"] == "scripted"
    assert len(children(spans, teacher)) == 1

    critic = one(spans, "critic")
    assert critic.parent_id == agent.span_id
    events = {e[1]["triad.role"]: e for e in critic.events if e[0] == "gen_ai.evaluation.result"}
    assert set(events) == {"teacher", "student"}
    for role, label in (("teacher", "deliverable"), ("student", "not_deliverable")):
        event = events[role][1]
        assert event["gen_ai.evaluation.name"] == "triad.grounded_critic"
        assert event["gen_ai.evaluation.score.value"] == pytest.approx(evaluation.scores[role])
        assert event["gen_ai.evaluation.score.label"] == label
        assert event["gen_ai.evaluation.explanation"]
    assert events["student"][1]["gen_ai.evaluation.explanation"].startswith(
        ("unsupported", "contradicted", "unverifiable")
    )
    assert "we serve wagyu" not in events["student"][1]["gen_ai.evaluation.explanation"].lower()

    sql = [s for s in spans if "db.system" in s.attributes or "db.system.name" in s.attributes]
    assert sql, "no SQLAlchemy spans in the turn's trace"

    # the trace id is stored on the turn's rows
    rows = list(await session.scalars(select(Message).order_by(Message.id)))
    assert [m.role for m in rows] == ["customer", "assistant"]
    assert {m.trace_id for m in rows} == {server.trace_id}
    assert (await session.scalar(select(TrainingSignal.trace_id))) == server.trace_id


async def test_message_content_only_on_request_and_scrubbed(
    traced_app: FastAPI,
    receiver: Receiver,
    clean_env: pytest.MonkeyPatch,
    session: AsyncSession,
    demo: None,
) -> None:
    clean_env.setenv(genai.CAPTURE_VARIABLE, "true")
    script(traced_app.state.runtime, teacher=HALLUCINATED)
    await run_turn(traced_app)
    assert traced_app.state.tracing.provider.force_flush(10_000)
    escalation = await session.scalar(select(Escalation))
    assert escalation is not None, "nothing deliverable: the turn must go to staff"
    server = one(receiver.spans, "POST /chat/sessions/{session_id}/messages")
    assert escalation.trace_id == server.trace_id

    agent = next(s for s in receiver.spans if s.name.startswith("invoke_agent"))
    asked = json.loads(agent.attributes["gen_ai.input.messages"])
    said = asked[0]["parts"][0]["content"]
    assert "wagyu" in said
    assert "Sarah" not in said and "555-123-4567" not in said
    assert "[NAME]" in said and "[PHONE]" in said
    assert json.loads(agent.attributes["gen_ai.output.messages"])[0]["role"] == "assistant"
    student = next(s for s in receiver.spans if s.attributes.get("triad.role") == "student")
    answer = json.loads(student.attributes["gen_ai.output.messages"])
    assert answer[0]["parts"][0]["content"] == HALLUCINATED
    prompt = student.attributes["gen_ai.input.messages"]
    assert "555-123-4567" not in prompt and "[PHONE]" in prompt
    assert "gen_ai.system_instructions" in student.attributes
    retrieval = next(s for s in receiver.spans if s.name.startswith("retrieval"))
    assert "[PHONE]" in retrieval.attributes["gen_ai.retrieval.query.text"]


async def test_no_exporter_and_no_spans_when_the_endpoint_is_unset(
    clean_env: pytest.MonkeyPatch,
    receiver: Receiver,
    settings: Settings,
    database_url: str,
    session: AsyncSession,
    demo: None,
) -> None:
    clean_env.setenv("OTEL_SERVICE_NAME", "triad-under-test")  # a name alone switches nothing on
    before = {t.name for t in threading.enumerate()}
    app = create_app(settings.model_copy(update={"scheduler": False}), database_url=database_url)
    assert app.state.tracing is None
    assert not genai.tracer().start_span("probe").is_recording()
    async with app.router.lifespan_context(app):
        script(app.state.runtime)
        await run_turn(app)
        started = {t.name for t in threading.enumerate()} - before
        assert not [n for n in started if n.startswith("OtelBatch")], started
    assert receiver.requests == []
    rows = list(await session.scalars(select(Message)))
    assert rows and all(m.trace_id is None for m in rows)
