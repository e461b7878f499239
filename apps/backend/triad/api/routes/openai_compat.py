"""The OpenAI-compatible facade: `POST /v1/chat/completions` and `GET /v1/models`.

Existing clients (the official `openai` SDK, LangChain, anything with a base URL) point at
`/v1` and work unchanged. A model name is one of:

- a registry id (`local:smollm2-135m`): that model first, then the router's fallbacks;
- `triad/auto`: the router's route for `task_type` (default `default`) at the priority of the
  `X-Triad-Priority` header or the body's `priority` (default `medium`);
- `triad/<agent>` (`triad/menu`): a customer turn of that agent, answered by the ensemble and
  checked by the critic before anything is sent (see `triad.api.openai_turns`).

With `stream: true` the answer comes as server-sent events. Until a model has streamed its
first token the call falls back like any other; after it, a failure ends the stream with an
OpenAI-style error event, then `[DONE]`. Errors use OpenAI's `{"error": {...}}` envelope and
carry `x-should-retry: false`: the router has already retried, the SDK must not multiply it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from triad import errors
from triad.api.deps import ApiKeyDep, EmbedderDep, RuntimeDep, SessionDep, SettingsDep
from triad.api.errors import status_for
from triad.api.openai_shapes import (
    SSE_DONE,
    ChatCompletionIn,
    chunk_body,
    completion_body,
    completion_id,
    error_body,
    error_type_for,
    sse,
    usage,
)
from triad.api.openai_turns import agent_turn
from triad.api.token_limits import completion_tokens
from triad.auth.keys import KeyGrant
from triad.conversations.records import attempt_row
from triad.providers.base import CompletionRequest
from triad.routing.router import attempts_of
from triad.routing.streaming import StreamRouter
from triad.routing.types import AttemptRecord, Priority, RouteKey
from triad.runtime import Runtime

AUTO = "triad/auto"
AGENT_PREFIX = "triad/"
PriorityHeader = Annotated[
    Priority | None, Header(alias="X-Triad-Priority", description="low | medium | high")
]
NO_RETRY = {"x-should-retry": "false"}


class ModelNotFoundError(errors.NotFoundError):
    """The requested model is neither a registry id nor a `triad/*` route."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"The model '{name}' does not exist; known models: {', '.join(known)}")


def openai_error(exc: errors.TriadError) -> JSONResponse:
    """The error tree in OpenAI's envelope, with the status `api.errors` gives it everywhere,
    except that OpenAI says 400 where Triad says 422 (the SDK raises `BadRequestError`)."""
    status = status_for(exc)
    status = 400 if status == 422 else status
    extra: dict[str, Any] = {}
    code: str | None = type(exc).__name__
    param = None
    if isinstance(exc, ModelNotFoundError):
        code, param = "model_not_found", "model"
    if isinstance(exc, errors.AllProvidersFailedError):
        extra["attempts"] = [
            {"model": a.model_id, "error": a.error_type, "message": a.message} for a in exc.attempts
        ]
    if isinstance(exc, errors.BudgetExceededError):
        extra["budget"] = exc.budget
    headers = dict(NO_RETRY)
    retry_after = getattr(exc, "retry_after", None)
    if status == 429 and isinstance(retry_after, int | float):
        headers["Retry-After"] = str(max(1, round(retry_after)))
    body = error_body(str(exc), type_=error_type_for(status), param=param, code=code, **extra)
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_error(exc: RequestValidationError) -> JSONResponse:
    problems, first = [], None
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            body = error_body(f"the body is not valid JSON: {error.get('ctx', {}).get('error')}")
            return JSONResponse(body, status_code=400, headers=NO_RETRY)
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        first = first or where or None
        problems.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    body = error_body("invalid request: " + "; ".join(problems), param=first)
    return JSONResponse(body, status_code=400, headers=NO_RETRY)


class OpenAIRoute(APIRoute):
    """Every error of this router leaves in OpenAI's shape, so the SDK can read it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return _validation_error(exc)
            except errors.TriadError as exc:
                return openai_error(exc)

        return handle


router = APIRouter(prefix="/v1", tags=["openai"], route_class=OpenAIRoute)


def routes(runtime: Runtime) -> list[str]:
    return [AUTO, *(f"{AGENT_PREFIX}{name}" for name in sorted(runtime.rules.agents))]


def known_models(runtime: Runtime) -> list[str]:
    return [*routes(runtime), *sorted(spec.id for spec in runtime.registry)]


def _model(model_id: str, owner: str, checked: bool, description: str) -> dict[str, Any]:
    return {
        "id": model_id,
        "object": "model",
        "created": 0,
        "owned_by": owner,
        "checked": checked,
        "description": description,
    }


@router.get("/models")
async def list_models(runtime: RuntimeDep, key: ApiKeyDep) -> dict[str, Any]:
    """Registry ids and the `triad/*` routes, as OpenAI's model list (those the API key may use).

    Each entry says whether its answers are `checked`: only the `triad/<agent>` models run the
    ensemble and the critic; `triad/auto` and registry ids are one model's unchecked answer."""
    data = [
        _model(
            AUTO,
            "triad",
            False,
            "the plain router (fallback, retries, budgets): one model's answer, unchecked",
        )
    ]
    data += [
        _model(
            f"{AGENT_PREFIX}{name}",
            "triad",
            True,
            f"a customer turn of the {name} agent: teacher and student answer, the critic "
            "checks every claim, low-trust turns go to staff",
        )
        for name in sorted(runtime.rules.agents)
    ]
    data += [
        _model(spec.id, spec.provider, False, "this model first, then the router's fallbacks")
        for spec in sorted(runtime.registry, key=lambda s: s.id)
    ]
    if key is not None:
        data = [m for m in data if key.allows(m["id"])]
    return {"object": "list", "data": data}


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: ChatCompletionIn,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    settings: SettingsDep,
    embedder: EmbedderDep,
    key: ApiKeyDep,
    priority_header: PriorityHeader = None,
) -> Response:
    """OpenAI's chat completions over Triad's router or, for `triad/<agent>`, its ensemble.

    Needs an API key (`Authorization: Bearer`, as the SDK sends its `api_key`); a key limited
    to some models gets 403 for any other."""
    name = body.model
    if key is not None:
        key.check_model(name)
    key_id = key.id if key else None
    if name.startswith(AGENT_PREFIX) and name != AUTO:
        agent = name.removeprefix(AGENT_PREFIX)
        if agent not in runtime.rules.agents:
            raise ModelNotFoundError(name, known_models(runtime))
        return await agent_turn(
            body, agent, session, runtime, settings.tenant, embedder, api_key_id=key_id
        )
    first = None if name == AUTO else name
    if first is not None and first not in runtime.registry:
        raise ModelNotFoundError(name, known_models(runtime))
    route = RouteKey(
        task_type=body.task_type or "default",
        priority=priority_header or body.priority or "medium",
        user_id=body.user,
    )
    options: dict[str, Any] = {"messages": body.chat, "stop": body.stops}
    options["max_tokens"] = completion_tokens(runtime, route, first=first, requested=body.limit)
    if body.temperature is not None:
        options["temperature"] = body.temperature
    call = CompletionRequest(**options)
    if body.stream:
        return await _open_stream(body, route, call, first, request, runtime, key)
    try:
        routed = await runtime.router.route(route, call, first=first)
    except (errors.AllProvidersFailedError, errors.BudgetExceededError) as exc:
        await _record(session, route, attempts_of(exc), key)
        raise
    await _record(session, route, routed.attempts, key)
    done, winner = routed.completion, routed.attempts[-1]
    triad = _triad(routed.model_id, routed.attempts, degraded=routed.degraded)
    triad["cached"] = routed.cached
    content = completion_body(
        cid=completion_id(),
        model=routed.model_id,
        text=done.text,
        finish=done.finish_reason,
        input_tokens=winner.input_tokens if done.input_tokens is None else done.input_tokens,
        output_tokens=winner.output_tokens if done.output_tokens is None else done.output_tokens,
        triad=triad,
    )
    return JSONResponse(content, headers=_headers(routed.model_id, routed.degraded))


def _triad(model_id: str, attempts: list[AttemptRecord], *, degraded: bool) -> dict[str, Any]:
    return {
        "model_id": model_id,
        "degraded": degraded,
        "attempts": [
            {"model": a.model_id, "outcome": a.outcome, "error": a.error_type} for a in attempts
        ],
    }


def _headers(model_id: str, degraded: bool) -> dict[str, str]:
    return {"x-triad-model": model_id, "x-triad-degraded": "true" if degraded else "false"}


async def _record(
    session: AsyncSession, route: RouteKey, attempts: list[AttemptRecord], key: KeyGrant | None
) -> None:
    session.add_all(
        attempt_row(
            a,
            task_type=route.task_type,
            user_id=route.user_id,
            agent=route.agent,
            api_key_id=key.id if key else None,
        )
        for a in attempts
    )
    await session.commit()


async def _open_stream(
    body: ChatCompletionIn,
    key: RouteKey,
    call: CompletionRequest,
    first: str | None,
    request: Request,
    runtime: Runtime,
    api_key: KeyGrant | None,
) -> StreamingResponse:
    """Fall back until a model streams; only then is the 200 sent (so total failure is a 503)."""
    factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
    streamer = StreamRouter(runtime.router, runtime.provider)
    try:
        stream = await streamer.open(key, call, first=first)
    except (errors.AllProvidersFailedError, errors.BudgetExceededError) as exc:
        async with factory() as session:
            await _record(session, key, attempts_of(exc), api_key)
        raise
    include_usage = bool(body.stream_options and body.stream_options.include_usage)

    async def events() -> AsyncIterator[bytes]:
        cid, created = completion_id(), int(time.time())

        def chunk(**fields: Any) -> bytes:
            return sse(chunk_body(cid=cid, model=stream.model_id, created=created, **fields))

        try:
            yield chunk(delta={"role": "assistant", "content": ""})
            async for piece in stream.chunks:
                if piece.text:
                    yield chunk(delta={"content": piece.text})
                if piece.last:
                    triad = _triad(stream.model_id, stream.attempts, degraded=stream.degraded)
                    yield chunk(finish=piece.finish_reason, triad=triad | {"cached": stream.cached})
            done = stream.completion
            if include_usage and done is not None:
                yield chunk(usage_=usage(done.input_tokens, done.output_tokens))
        except errors.TriadError as exc:
            status = status_for(exc)
            yield sse(error_body(str(exc), type_=error_type_for(status), code=type(exc).__name__))
        finally:
            with anyio.CancelScope(shield=True):
                await stream.aclose()
                async with factory() as session:
                    await _record(session, key, stream.attempts, api_key)
        yield SSE_DONE

    headers = _headers(stream.model_id, stream.degraded) | {"cache-control": "no-cache"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)
