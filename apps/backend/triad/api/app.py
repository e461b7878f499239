"""The application factory; `make run` serves `create_app()` on 127.0.0.1:8000."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from triad.api import error_docs, errors
from triad.api.input_guard import InputGuardMiddleware
from triad.api.middleware import MetricsMiddleware
from triad.api.routes import (
    admin,
    api_keys,
    auth,
    chat,
    escalations,
    experiments,
    health,
    insights,
    knowledge,
    lessons,
    llm,
    metrics,
    models,
    openai_compat,
)
from triad.api.security_headers import SecurityHeadersMiddleware
from triad.db.embedded import ensure_database
from triad.db.session import make_engine, make_session_factory
from triad.dialogue.deps import build_deps as build_dialogue_deps
from triad.dialogue.scheduler import start_scheduler, stop_scheduler
from triad.experiments.store import sync_configured
from triad.knowledge.embedding import get_embedder
from triad.observability.tracing import configure_tracing
from triad.routing.guards import build_guards
from triad.runtime import build_runtime
from triad.settings import Settings, get_settings
from triad_admin import auth_pages, pages


def create_app(settings: Settings | None = None, *, database_url: str | None = None) -> FastAPI:
    """Build the API; the database URL defaults to DATABASE_URL or the embedded server."""
    settings = settings or get_settings()
    tracing = configure_tracing()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = database_url or ensure_database(settings)
        engine = make_engine(url)
        if tracing is not None:
            tracing.instrument_engine(engine)
        app.state.settings = settings
        app.state.session_factory = make_session_factory(engine)
        app.state.embedder = get_embedder
        runtime = build_runtime(settings, get_embedder())
        runtime.attach_guards(
            build_guards(settings, runtime.registry, get_embedder(), app.state.session_factory)
        )
        app.state.runtime = runtime
        app.state.registry = runtime.registry

        def roles(agent: str) -> tuple[str, str]:
            teacher, student = runtime.config.roles_for(agent, settings.ensemble_profile)
            return teacher.model, student.model

        await sync_configured(
            app.state.session_factory,
            settings.experiments_config,
            runtime.registry,
            runtime.rules.agents,
            roles,
        )
        app.state.dialogue = build_dialogue_deps(runtime, engine, get_embedder())
        scheduler = (
            start_scheduler(app.state.dialogue, tenant=settings.tenant, database_url=url)
            if settings.scheduler
            else None
        )
        try:
            yield
        finally:
            if scheduler is not None:
                await stop_scheduler(scheduler)
            await runtime.aclose()
            await engine.dispose()
            if tracing is not None:
                tracing.shutdown()

    # Swagger UI and ReDoc from the assets in the fastapi-offline wheel, not from a CDN, so
    # /docs and /redoc work with no network.
    app = FastAPIOffline(
        title="Triad",
        version="0.1.0",
        summary="Customer-facing AI agents that never trust a single LLM.",
        lifespan=lifespan,
    )
    app.state.tracing = tracing
    errors.install(app)
    # Innermost first: input is refused before routing, and still counted and given headers.
    app.add_middleware(InputGuardMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.include_router(health.router)
    app.include_router(knowledge.router)
    app.include_router(models.router)
    app.include_router(chat.router)
    app.include_router(llm.router)
    app.include_router(escalations.router)
    app.include_router(admin.router)
    app.include_router(api_keys.router)
    app.include_router(openai_compat.router)
    app.include_router(metrics.router)
    app.include_router(auth.router)
    # insights first: its /admin/api/lessons/effects must win over lessons' /lessons/{lesson_id}
    app.include_router(insights.router)
    app.include_router(lessons.router)
    app.include_router(experiments.router)
    app.include_router(pages.router)
    app.include_router(auth_pages.router)
    error_docs.install(app)
    if tracing is not None:  # outermost, so the server span covers every middleware
        tracing.instrument_app(app)
    return app
