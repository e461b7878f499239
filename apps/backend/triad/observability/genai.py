"""The spans of one customer turn, named and attributed by the OpenTelemetry GenAI conventions.

```
POST /chat/sessions/{session_id}/messages      server span (FastAPI instrumentation)
└── invoke_agent {agent}                       decision, consensus, escalation as attributes
    ├── retrieval knowledge/{tenant}           gen_ai.data_source.id, passage count
    ├── chat {model}   (teacher)               request/response model, usage, error.type
    │   └── chat {model}  one per upstream call the router made (retries, fallbacks)
    ├── chat {model}   (student)
    ├── critic                                 one gen_ai.evaluation.result event per answer
    └── SQL statements                         (SQLAlchemy instrumentation)
```

Message contents (the customer's question, the prompts, the answers, retrieved passages) are
recorded only when `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`, and then with
emails, phone numbers, street addresses and the names the customer gave replaced by
placeholders. Every helper works against OpenTelemetry's no-op tracer while tracing is off.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from triad.analytics.pii import Scrubber

if TYPE_CHECKING:
    from triad.ensemble.core import EnsembleResult, RoleOutcome
    from triad.ensemble.critic.models import CriticResult
    from triad.knowledge.retrieval import Passage
    from triad.providers.base import ChatMessage, Completion, CompletionRequest

CAPTURE_VARIABLE = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
EVALUATION_EVENT = "gen_ai.evaluation.result"
EVALUATION_NAME = "triad.grounded_critic"
PROVIDER_NAMES = {"xai": "x_ai"}
"""Registry prefixes whose well-known `gen_ai.provider.name` is spelled differently."""

_NOOP: Tracer = trace.NoOpTracer()
_tracer: Tracer = _NOOP
_conversation: ContextVar[str | None] = ContextVar("triad_trace_conversation", default=None)
"""The conversation of the enclosing invoke_agent span, for the model calls beneath it."""


def use_tracer(tracer: Tracer | None) -> None:
    """Set by `tracing.configure_tracing` (None: back to the no-op tracer)."""
    global _tracer
    _tracer = tracer if tracer is not None else _NOOP


def tracer() -> Tracer:
    return _tracer


def capture_content() -> bool:
    """Whether message contents go into spans (read per turn, so it can change at run time)."""
    return os.environ.get(CAPTURE_VARIABLE, "").strip().lower() == "true"


def current_trace_id() -> str | None:
    """The 32-hex-digit id of the trace this code runs in, None when nothing is recorded."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid or not context.trace_flags.sampled:
        return None
    return format(context.trace_id, "032x")


def provider_and_model(model_id: str) -> tuple[str, str]:
    """`openai:gpt-4o-mini` -> ("openai", "gpt-4o-mini"); a bare name has provider "triad"."""
    provider, sep, model = model_id.partition(":")
    if not sep:
        return "triad", model_id
    return PROVIDER_NAMES.get(provider, provider), model


def _messages_json(messages: Sequence[ChatMessage], scrub: Scrubber) -> str:
    return json.dumps(
        [
            {"role": m.role, "parts": [{"type": "text", "content": scrub(m.content)}]}
            for m in messages
            if m.role != "system"
        ],
        ensure_ascii=False,
    )


def _output_json(text: str, finish_reason: str, scrub: Scrubber) -> str:
    return json.dumps(
        [
            {
                "role": "assistant",
                "parts": [{"type": "text", "content": scrub(text)}],
                "finish_reason": finish_reason,
            }
        ],
        ensure_ascii=False,
    )


def _scrubber(messages: Sequence[ChatMessage]) -> Scrubber:
    return Scrubber(m.content for m in messages if m.role == "user")


def _fail(span: Span, exc: BaseException) -> None:
    span.set_attribute("error.type", type(exc).__name__)
    span.set_status(Status(StatusCode.ERROR, str(exc)[:300]))


# --- invoke_agent ---------------------------------------------------------------------------


@contextmanager
def invoke_agent(agent: str, *, conversation_id: str, tenant: str, question: str) -> Iterator[Span]:
    """The span of one customer turn, from the chosen agent to the stored records."""
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": agent,
        "gen_ai.conversation.id": conversation_id,
        "triad.tenant": tenant,
    }
    token = _conversation.set(conversation_id)
    with _tracer.start_as_current_span(
        f"invoke_agent {agent}", kind=SpanKind.INTERNAL, attributes=attributes
    ) as span:
        if span.is_recording() and capture_content():
            scrub = Scrubber([question])
            span.set_attribute(
                "gen_ai.input.messages",
                json.dumps(
                    [{"role": "user", "parts": [{"type": "text", "content": scrub(question)}]}],
                    ensure_ascii=False,
                ),
            )
        try:
            yield span
        finally:
            _conversation.reset(token)


def record_turn(span: Span, result: EnsembleResult, *, question: str, cached: bool) -> None:
    """The decision, consensus and escalation of a finished turn, on its invoke_agent span."""
    if not span.is_recording():
        return
    critic = result.critic
    span.set_attribute("triad.decision", result.decision)
    span.set_attribute("triad.escalated", result.escalate)
    span.set_attribute("triad.cache_hit", cached)
    span.set_attribute("triad.degraded", result.degraded)
    span.set_attribute("triad.knowledge_version", result.knowledge_version)
    span.set_attribute("triad.prompt_version", result.prompt_version)
    span.set_attribute("triad.consensus", critic.consensus if critic is not None else 0.0)
    if critic is not None and critic.agreement is not None:
        span.set_attribute("triad.agreement", critic.agreement)
    if result.winner is not None:
        span.set_attribute("triad.winner", result.winner)
    if result.escalation_reason:
        span.set_attribute("triad.escalation.reason", result.escalation_reason)
    if result.experiment is not None:
        span.set_attribute("triad.experiment.id", result.experiment.experiment_id)
    if capture_content():
        scrub = Scrubber([question])
        span.set_attribute("gen_ai.output.messages", _output_json(result.reply, "stop", scrub))


# --- retrieval ------------------------------------------------------------------------------


@contextmanager
def retrieval(tenant: str, sources: Sequence[str], query: str) -> Iterator[Span]:
    """Hybrid retrieval over the tenant's knowledge for the agent's sources."""
    data_source = f"knowledge/{tenant}"
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "retrieval",
        "gen_ai.data_source.id": data_source,
        "triad.retrieval.sources": list(sources),
    }
    with _tracer.start_as_current_span(
        f"retrieval {data_source}", kind=SpanKind.INTERNAL, attributes=attributes
    ) as span:
        if span.is_recording() and capture_content():
            span.set_attribute("gen_ai.retrieval.query.text", Scrubber([query])(query))
        yield span


def record_retrieval(span: Span, passages: Sequence[Passage], knowledge_version: int) -> None:
    if not span.is_recording():
        return
    span.set_attribute("triad.retrieval.passages", len(passages))
    span.set_attribute("triad.knowledge_version", knowledge_version)
    span.set_attribute("triad.retrieval.chunk_ids", [p.chunk_id for p in passages])
    if capture_content():
        documents = [{"id": str(p.chunk_id), "score": round(p.score, 6)} for p in passages]
        span.set_attribute("gen_ai.retrieval.documents", json.dumps(documents))


# --- chat: one role's answer, and each upstream call the router made for it ------------------


def _request_attributes(model_id: str, request: CompletionRequest) -> dict[str, Any]:
    provider, model = provider_and_model(model_id)
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
        "triad.model_id": model_id,
        "gen_ai.request.temperature": request.temperature,
    }
    if request.max_tokens is not None:
        attributes["gen_ai.request.max_tokens"] = request.max_tokens
    conversation = _conversation.get()
    if conversation is not None:
        attributes["gen_ai.conversation.id"] = conversation
    return attributes


@contextmanager
def chat(role: str, model_id: str, request: CompletionRequest) -> Iterator[Span]:
    """One role's answer (teacher or student) as the ensemble asked for it."""
    _, model = provider_and_model(model_id)
    attributes = _request_attributes(model_id, request)
    attributes["triad.role"] = role
    with _tracer.start_as_current_span(
        f"chat {model}", kind=SpanKind.CLIENT, attributes=attributes, record_exception=False
    ) as span:
        if span.is_recording() and capture_content():
            scrub = _scrubber(request.messages)
            span.set_attribute("gen_ai.input.messages", _messages_json(request.messages, scrub))
            system = next((m.content for m in request.messages if m.role == "system"), None)
            if system is not None:
                span.set_attribute(
                    "gen_ai.system_instructions",
                    json.dumps([{"type": "text", "content": scrub(system)}], ensure_ascii=False),
                )
        yield span


def record_outcome(span: Span, outcome: RoleOutcome, request: CompletionRequest) -> None:
    """What came back for a role: the answering model and its usage, or the error type."""
    if not span.is_recording():
        return
    done = outcome.completion
    for attempt in outcome.attempts:
        span.add_event(
            "triad.route.attempt",
            {
                "triad.model_id": attempt.model_id,
                "triad.attempt.outcome": attempt.outcome,
                "triad.attempt.retries": attempt.retry_count,
                "triad.attempt.reason": attempt.reason,
                **({"error.type": attempt.error_type} if attempt.error_type else {}),
            },
        )
    span.set_attribute("triad.degraded", outcome.degraded)
    span.set_attribute("triad.cost_usd", outcome.cost_usd)
    if done is None or outcome.error_type is not None:
        span.set_attribute("error.type", outcome.error_type or "EmptyAnswer")
        span.set_status(Status(StatusCode.ERROR, (outcome.error or "")[:300]))
        return
    _record_completion(span, done, outcome.model_id)
    answered = next((a for a in reversed(outcome.attempts) if a.outcome != "error"), None)
    tokens_in = done.input_tokens if done.input_tokens is not None else None
    tokens_out = done.output_tokens if done.output_tokens is not None else None
    if answered is not None:
        tokens_in = answered.input_tokens if answered.input_tokens is not None else tokens_in
        tokens_out = answered.output_tokens if answered.output_tokens is not None else tokens_out
        span.set_attribute("triad.tokens_estimated", answered.tokens_estimated)
    if tokens_in is not None:
        span.set_attribute("gen_ai.usage.input_tokens", tokens_in)
    if tokens_out is not None:
        span.set_attribute("gen_ai.usage.output_tokens", tokens_out)
    if capture_content():
        scrub = _scrubber(request.messages)
        span.set_attribute(
            "gen_ai.output.messages", _output_json(done.text, done.finish_reason, scrub)
        )


def _record_completion(span: Span, done: Completion, model_id: str) -> None:
    _, configured = provider_and_model(model_id)
    span.set_attribute("gen_ai.response.model", done.model or configured)
    span.set_attribute("gen_ai.response.finish_reasons", [done.finish_reason])
    span.set_attribute("triad.response.model_id", model_id)


@contextmanager
def provider_call(
    model_id: str, request: CompletionRequest, *, position: int, retry: int
) -> Iterator[Span]:
    """One upstream call of the router: a child of the role's span, one per retry."""
    _, model = provider_and_model(model_id)
    attributes = _request_attributes(model_id, request)
    attributes["triad.attempt.position"] = position
    attributes["triad.attempt.retry"] = retry
    with _tracer.start_as_current_span(
        f"chat {model}", kind=SpanKind.CLIENT, attributes=attributes, record_exception=False
    ) as span:
        try:
            yield span
        except BaseException as exc:
            if span.is_recording():
                _fail(span, exc)
            raise


def record_call(span: Span, done: Completion, model_id: str) -> None:
    if span.is_recording():
        _record_completion(span, done, model_id)


# --- the critic -----------------------------------------------------------------------------


@contextmanager
def critic() -> Iterator[Span]:
    """The grounded critic (and any LLM judge) checking both answers."""
    with _tracer.start_as_current_span(
        "critic", kind=SpanKind.INTERNAL, attributes={"gen_ai.evaluation.name": EVALUATION_NAME}
    ) as span:
        yield span


def explanation(result: CriticResult, role: str) -> str:
    """Why an answer got its label: the first failed claim's verdict for an answer that is not
    deliverable, the critic's rationale otherwise (claim texts only when content is captured)."""
    verdict = result.verdicts[role]
    if not verdict.deliverable:
        failed = next(
            (c for c in verdict.claims if c.failed or c.uncovered),
            None,
        )
        if failed is not None:
            said = f" '{failed.text}'" if capture_content() else ""
            return f"{failed.status} claim{said}: {failed.reason}"
        if verdict.abstains:
            return "the answer says it cannot answer"
        if verdict.repeated:
            return f"{verdict.repeated} repeated claim(s)"
    return result.rationale


def record_critic(span: Span, result: CriticResult, answers: dict[str, str]) -> None:
    """One `gen_ai.evaluation.result` event per judged answer, and the critic's summary."""
    if not span.is_recording():
        return
    scrub = Scrubber(answers.values())
    span.set_attribute("triad.critic.consensus", result.consensus)
    span.set_attribute("triad.critic.judged_by", list(result.judged_by))
    span.set_attribute("triad.critic.latency_ms", result.latency_ms)
    if result.winner is not None:
        span.set_attribute("triad.critic.winner", result.winner)
    if result.agreement is not None:
        span.set_attribute("triad.critic.agreement", result.agreement)
    for role, verdict in result.verdicts.items():
        text = explanation(result, role)
        span.add_event(
            EVALUATION_EVENT,
            {
                "gen_ai.evaluation.name": EVALUATION_NAME,
                "gen_ai.evaluation.score.value": verdict.score,
                "gen_ai.evaluation.score.label": (
                    "deliverable" if verdict.deliverable else "not_deliverable"
                ),
                "gen_ai.evaluation.explanation": scrub(text),
                "triad.role": role,
                "triad.claims.total": len(verdict.claims),
                "triad.claims.failed": len(verdict.unsupported_claims),
            },
        )
