"""Turn tracing on from the standard OpenTelemetry variables, or leave it off.

On when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, unless
`OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`; the service name is `OTEL_SERVICE_NAME`
(default `triad`). Spans go over OTLP/HTTP (protobuf) through a batch processor, so a slow or
absent collector never delays a turn. When off, nothing is built: no provider, no exporter
thread, and the span helpers use OpenTelemetry's no-op tracer.

The provider is this process's own, not the global one: OpenTelemetry lets the global provider
be set once per process, while an app (and a test) may be built and shut down many times.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import FastAPI
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from sqlalchemy.ext.asyncio import AsyncEngine

from triad.observability import genai

log = logging.getLogger(__name__)

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
DEFAULT_SERVICE_NAME = "triad"
EXCLUDED_URLS = "/metrics,/health"
"""Scrapes and probes are not turns; `OTEL_PYTHON_FASTAPI_EXCLUDED_URLS` overrides this."""


def tracing_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """True when an OTLP endpoint is configured and tracing is not switched off."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(env.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def traces_url(env: Mapping[str, str]) -> str:
    """Where spans are POSTed: the signal-specific variable as is, else `{endpoint}/v1/traces`
    (the OTLP/HTTP rule the exporter applies to the process environment)."""
    specific = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if specific:
        return specific
    return env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip().rstrip("/") + "/v1/traces"


@dataclass
class Tracing:
    """The process's tracer provider while tracing is on; `shutdown` flushes what is queued."""

    provider: TracerProvider

    def instrument_app(self, app: FastAPI) -> None:
        """A server span per request (the root of a turn's trace), scrapes and probes excluded."""
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self.provider,
            excluded_urls=os.environ.get("OTEL_PYTHON_FASTAPI_EXCLUDED_URLS", EXCLUDED_URLS),
            exclude_spans=["receive", "send"],
        )

    def instrument_engine(self, engine: AsyncEngine) -> None:
        """A span per SQL statement of this engine, under the turn that ran it.

        The contrib package declares SQLAlchemy < 2.1 while Triad pins 2.1; the engine events
        it listens to are unchanged in 2.1 (tests/observability prove the spans arrive), so its
        version check is skipped rather than losing the database spans.
        """
        SQLAlchemyInstrumentor().instrument(
            engine=engine.sync_engine, tracer_provider=self.provider, skip_dep_check=True
        )

    def shutdown(self) -> None:
        """Export what is queued, stop the exporter and fall back to the no-op tracer."""
        if SQLAlchemyInstrumentor().is_instrumented_by_opentelemetry:
            SQLAlchemyInstrumentor().uninstrument()
        genai.use_tracer(None)
        self.provider.shutdown()


def configure_tracing(
    environ: Mapping[str, str] | None = None, *, service_version: str = "0.1.0"
) -> Tracing | None:
    """Start the SDK and the OTLP/HTTP exporter when configured; None (and nothing started)
    when not. The endpoint comes from `environ` (default: the process's environment); the
    exporter reads headers, timeout and compression from the `OTEL_*` variables itself."""
    env = os.environ if environ is None else environ
    if not tracing_enabled(env):
        return None
    service = env.get("OTEL_SERVICE_NAME", "").strip() or DEFAULT_SERVICE_NAME
    resource = Resource.create({SERVICE_NAME: service, SERVICE_VERSION: service_version})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces_url(env))))
    genai.use_tracer(provider.get_tracer("triad", service_version))
    log.info("tracing on: OTLP/HTTP export as service %r", service)
    return Tracing(provider)
