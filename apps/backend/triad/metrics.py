"""Prometheus metrics (prometheus-client), one registry for the process, served at /metrics.

Call sites report facts (an attempt, a retry, a breaker state, a cache lookup, a turn); the
names and labels live here only.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from triad.routing.types import AttemptRecord

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

HTTP_REQUESTS = Counter(
    "triad_http_requests_total",
    "HTTP requests served",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "triad_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
PROVIDER_CALLS = Counter(
    "triad_provider_calls_total",
    "Model calls by outcome",
    ["provider", "model", "outcome"],
    registry=REGISTRY,
)
PROVIDER_LATENCY = Histogram(
    "triad_provider_latency_seconds",
    "Model call latency",
    ["provider", "model"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
RETRIES = Counter(
    "triad_retries_total",
    "Retries after a retryable failure",
    ["provider", "model"],
    registry=REGISTRY,
)
CIRCUIT_STATE = Gauge(
    "triad_circuit_state",
    "Circuit breaker: 0 closed, 1 half-open, 2 open",
    ["model"],
    registry=REGISTRY,
)
CACHE_LOOKUPS = Counter(
    "triad_cache_lookups_total", "Cache lookups", ["kind", "result"], registry=REGISTRY
)
TOKENS = Counter(
    "triad_tokens_total",
    "Tokens by direction",
    ["provider", "model", "direction"],
    registry=REGISTRY,
)
COST = Counter(
    "triad_cost_usd_total",
    "Spend in USD at list price",
    ["provider", "model", "agent"],
    registry=REGISTRY,
)
TURNS = Counter(
    "triad_turns_total", "Customer turns by decision", ["agent", "decision"], registry=REGISTRY
)

_CIRCUIT = {"closed": 0, "half_open": 1, "open": 2}


def _split(model_id: str) -> tuple[str, str]:
    provider, _, model = model_id.partition(":")
    return provider, model or provider


def observe_attempt(record: AttemptRecord, agent: str | None = None) -> None:
    """One model call (or skip): outcome, latency, tokens and cost."""
    provider, model = _split(record.model_id)
    PROVIDER_CALLS.labels(provider, model, record.outcome).inc()
    if record.outcome in ("ok", "error"):
        PROVIDER_LATENCY.labels(provider, model).observe(record.latency_ms / 1000)
    if record.retry_count:
        RETRIES.labels(provider, model).inc(record.retry_count)
    if record.input_tokens:
        TOKENS.labels(provider, model, "input").inc(record.input_tokens)
    if record.output_tokens:
        TOKENS.labels(provider, model, "output").inc(record.output_tokens)
    if record.cost_usd:
        COST.labels(provider, model, agent or "").inc(record.cost_usd)


def set_circuit(model_id: str, state: str) -> None:
    """`closed`, `half_open` or `open`."""
    CIRCUIT_STATE.labels(model_id).set(_CIRCUIT[state])


def count_cache(kind: str, hit: bool) -> None:
    """`kind` is `exact` or `semantic`."""
    CACHE_LOOKUPS.labels(kind, "hit" if hit else "miss").inc()


def count_turn(agent: str, decision: str) -> None:
    TURNS.labels(agent, decision).inc()


def render() -> bytes:
    """The text exposition format."""
    return generate_latest(REGISTRY)
