"""Streaming over the router: fall back until a model streams its first token, then stay with it.

A stream cannot be retried or moved to another model once the caller has seen a token, so the
router's rules apply up to the first token only: the same plan (`Router.plan`), the same skips
(missing key, budget, open breaker) and the same breaker and health bookkeeping. Each model gets
one try to start streaming (the backoff loop stays in `Router`, and a model whose stream does
not start falls back at once, which is also what a caller waiting on a stream wants), plus the
router's hedge: a stream with no first token after `Router.hedge_delay` gets a second one of
the same model, the first to yield a token is kept and the other closed. After the first token,
a failure ends the stream with the typed error; the attempt is recorded as failed with the
tokens it had already produced.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field

from triad import metrics
from triad.errors import (
    BudgetExceededError,
    MalformedResponseError,
    MissingCredentialError,
    ProviderError,
    ProviderTimeoutError,
    RequestCapExceededError,
)
from triad.providers.base import Completion, CompletionRequest, Provider, StreamChunk
from triad.routing.breaker import Permit
from triad.routing.config import TIER_RANK
from triad.routing.router import (
    ExplainsRefusal,
    Router,
    RoutingFailedError,
    counts_against_provider,
)
from triad.routing.tokens import account, estimate_tokens
from triad.routing.types import AttemptRecord, BudgetDecision, RoutedCompletion, RouteKey

log = logging.getLogger(__name__)

Clock = Callable[[], float]


@dataclass
class RoutedStream:
    """A stream that has started: its chunks (from the first on) and how it was obtained.

    `attempts` and `completion` are final once `chunks` is exhausted or closed.
    """

    model_id: str
    chunks: AsyncGenerator[StreamChunk, None]
    attempts: list[AttemptRecord] = field(default_factory=list)
    degraded: bool = False
    cached: bool = False
    completion: Completion | None = None
    source: AsyncGenerator[StreamChunk, None] | None = None
    """The provider's own stream, closed by `aclose` even when `chunks` was never started."""

    async def aclose(self) -> None:
        """Stop reading: releases the upstream connection; safe to call twice."""
        await self.chunks.aclose()
        if self.source is not None:
            await self.source.aclose()


async def _replay(done: Completion) -> AsyncGenerator[StreamChunk, None]:
    yield StreamChunk(text=done.text)
    yield StreamChunk(
        finish_reason=done.finish_reason,
        input_tokens=done.input_tokens,
        output_tokens=done.output_tokens,
    )


async def _head(
    chunks: AsyncGenerator[StreamChunk, None], timeout_s: float, model_id: str
) -> list[StreamChunk]:
    """Chunks up to the first with text (or the last one), within `timeout_s`."""
    provider, _, model = model_id.partition(":")
    head: list[StreamChunk] = []
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in chunks:
                head.append(chunk)
                if chunk.text or chunk.last:
                    return head
    except TimeoutError:
        raise ProviderTimeoutError(
            f"{model_id} sent no first token within {timeout_s:.3f}s",
            provider=provider,
            model=model,
        ) from None
    raise MalformedResponseError(
        f"{model_id} ended its stream before its first chunk", provider=provider, model=model
    )


async def _opened(
    provider: Provider, request: CompletionRequest, timeout_s: float, model_id: str
) -> tuple[AsyncGenerator[StreamChunk, None], list[StreamChunk]]:
    """One stream of `provider`, read up to its first token; closed again if that fails."""
    chunks = provider.stream(request)
    try:
        return chunks, await _head(chunks, timeout_s, model_id)
    except BaseException:
        await chunks.aclose()
        raise


class StreamRouter:
    """`open` walks the router's plan for a stream; one per process, next to the `Router`."""

    def __init__(
        self,
        router: Router,
        provider_for: Callable[[str], Provider],
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        self.router = router
        self._provider_for = provider_for
        self._clock = clock

    async def open(
        self, key: RouteKey, request: CompletionRequest, *, first: str | None = None
    ) -> RoutedStream:
        """The first model whose stream starts, or RoutingFailedError with every attempt."""
        router = self.router
        hit = await self._lookup(key, request)
        if hit is not None:
            model_id = f"{hit.provider}:{hit.model}"
            record = AttemptRecord(model_id, 0, "cache_hit", reason="cache hit")
            record.input_tokens, record.output_tokens = hit.input_tokens, hit.output_tokens
            metrics.observe_attempt(record, key.agent)
            return RoutedStream(model_id, _replay(hit), [record], cached=True, completion=hit)
        deadline = self._clock() + router.config.retry.deadline_s
        candidates = router.plan(key, first=first)
        providers = {c.model_id: self._resolve(c.model_id) for c in candidates}
        usable = [
            c.model_id
            for c in sorted(candidates, key=lambda c: c.rank)
            if isinstance(providers[c.model_id], Provider)
        ]
        reference = self._tier(usable[0]) if usable else None
        records: list[AttemptRecord] = []
        refusals: list[BudgetDecision] = []
        for position, candidate in enumerate(candidates):
            record = AttemptRecord(candidate.model_id, position, "error", reason=candidate.reason)
            records.append(record)
            provider = providers[candidate.model_id]
            opened = await self._start(key, request, provider, record, deadline, refusals)
            if opened is None:
                metrics.observe_attempt(record, key.agent)
                continue
            provider, head, chunks, began = opened
            tier = self._tier(candidate.model_id)
            stream = RoutedStream(
                candidate.model_id,
                chunks,
                records,
                degraded=tier is not None and reference is not None and tier > reference,
                source=chunks,
            )
            stream.chunks = self._follow(
                key, request, stream, provider, record, head, chunks, began
            )
            return stream
        failure = RoutingFailedError(records)
        if refusals and all(r.outcome in ("skipped_budget", "skipped_key") for r in records):
            raise self._refusal(refusals[0]) from failure
        raise failure

    def _refusal(self, decision: BudgetDecision) -> BudgetExceededError:
        """The budget's own error when every usable model was refused, as `Router.route`."""
        if isinstance(self.router.budget, ExplainsRefusal):
            return self.router.budget.error(decision)
        name = decision.budget or "budget"
        if decision.status_code == 422:
            return RequestCapExceededError(decision.reason, budget=name)
        return BudgetExceededError(decision.reason, budget=name)

    async def _lookup(self, key: RouteKey, request: CompletionRequest) -> Completion | None:
        if self.router.cache is None:
            return None
        try:
            return await self.router.cache.lookup(key, request)
        except Exception:
            log.exception("response cache lookup failed; streaming as a miss")
            return None

    def _resolve(self, model_id: str) -> Provider | MissingCredentialError:
        try:
            return self._provider_for(model_id)
        except MissingCredentialError as exc:
            return exc

    def _tier(self, model_id: str) -> int | None:
        registry = self.router.registry
        return TIER_RANK[registry.get(model_id).tier] if model_id in registry else None

    async def _start(
        self,
        key: RouteKey,
        request: CompletionRequest,
        provider: Provider | MissingCredentialError,
        record: AttemptRecord,
        deadline: float,
        refusals: list[BudgetDecision],
    ) -> tuple[Provider, list[StreamChunk], AsyncGenerator[StreamChunk, None], float] | None:
        """Open one model's stream and read up to its first token; None: skipped or failed."""
        model_id = record.model_id
        if isinstance(provider, MissingCredentialError):
            _skip_key(record, provider)
            return None
        if self.router.budget is not None:
            verdict = await self.router.budget.check(key, model_id, request)
            if not verdict.allowed:
                refusals.append(verdict)
                record.outcome, record.error_type = "skipped_budget", "BudgetExceeded"
                record.error = verdict.reason or f"budget {verdict.budget} refused this model"
                return None
        remaining = deadline - self._clock()
        if remaining <= 0:
            record.error_type, record.error = "DeadlineExceeded", "the deadline passed first"
            return None
        breaker, health = self.router.breakers[model_id], self.router.health[model_id]
        permit = breaker.acquire()
        if permit is None:
            record.outcome, record.error_type = "skipped_breaker", "CircuitOpen"
            record.error = f"circuit open; next probe in {breaker.reopens_in_s:.0f}s"
            return None
        timeout_s = min(request.timeout_s, remaining)
        streamed = request.model_copy(update={"timeout_s": timeout_s})
        policy = self.router.backoff.for_model(model_id).policy
        hedge_s = self.router.hedge_delay(model_id, policy) if policy.max_hedges else None
        started = self._clock()
        tries = {asyncio.ensure_future(_opened(provider, streamed, timeout_s, model_id)): permit}
        try:
            while tries:
                wait_s = hedge_s if hedge_s is not None and hedge_s < timeout_s else None
                done, _ = await asyncio.wait(
                    tries, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED
                )
                if not done:  # silent past the hedge delay: one more stream of this model
                    hedge_s = None
                    second = breaker.acquire()
                    if second is not None:
                        record.reason += f"; hedged after {wait_s:g}s"
                        hedge = _opened(provider, streamed, timeout_s - (wait_s or 0), model_id)
                        tries[asyncio.ensure_future(hedge)] = second
                    continue
                for task in done:
                    try_permit = tries.pop(task)
                    error = task.exception()
                    if error is None:
                        breaker.success(try_permit)
                        health.record(True, (self._clock() - started) * 1000)
                        record.reason += "; streamed"
                        chunks, head = task.result()
                        return provider, head, chunks, started
                    if isinstance(error, MissingCredentialError):
                        breaker.release(try_permit)
                        _skip_key(record, error)
                        return None
                    if not isinstance(error, ProviderError):
                        breaker.release(try_permit)
                        raise error
                    record.latency_ms = (self._clock() - started) * 1000
                    record.error_type, record.error = type(error).__name__, str(error)
                    if counts_against_provider(error):
                        breaker.failure(try_permit)
                        health.record(False, record.latency_ms)
                    else:
                        breaker.success(try_permit)
            return None
        finally:
            for task, try_permit in tries.items():
                task.cancel()
                breaker.release(try_permit)
            for outcome in await asyncio.gather(*tries, return_exceptions=True):
                if isinstance(outcome, tuple):  # a loser that had started too: close it
                    await outcome[0].aclose()

    async def _follow(
        self,
        key: RouteKey,
        request: CompletionRequest,
        stream: RoutedStream,
        provider: Provider,
        record: AttemptRecord,
        head: list[StreamChunk],
        chunks: AsyncGenerator[StreamChunk, None],
        started: float,
    ) -> AsyncGenerator[StreamChunk, None]:
        """Yield the stream; its last chunk leaves once the attempt is accounted for (tokens,
        cost, metrics, cache), so a caller reading `attempts` there sees the final record.
        `started` is when the call began: latency covers the whole stream."""
        texts: list[str] = []
        pending = list(head)
        try:
            while True:
                chunk = pending.pop(0) if pending else await anext(chunks)
                texts.append(chunk.text)
                if chunk.last:
                    await self._finished(
                        key, request, stream, provider, record, texts, chunk, started
                    )
                    yield chunk
                    return
                yield chunk
        except (ProviderError, StopAsyncIteration) as exc:
            error = exc if isinstance(exc, ProviderError) else None
            self._failed(key, record, "".join(texts), error, started)
            if error is None:
                raise malformed_stream(record.model_id) from None
            raise
        except (GeneratorExit, asyncio.CancelledError):
            if record.outcome != "ok":
                self._failed(key, record, "".join(texts), None, started, disconnected=True)
            raise
        finally:
            await chunks.aclose()

    async def _finished(
        self,
        key: RouteKey,
        request: CompletionRequest,
        stream: RoutedStream,
        provider: Provider,
        record: AttemptRecord,
        texts: list[str],
        last: StreamChunk,
        started: float,
    ) -> None:
        """The stream ended well: the attempt is ok, with tokens, cost and latency."""
        record.latency_ms = (self._clock() - started) * 1000
        done = Completion(
            text="".join(texts),
            model=provider.model,
            provider=record.model_id.partition(":")[0],
            input_tokens=last.input_tokens,
            output_tokens=last.output_tokens,
            latency_ms=record.latency_ms,
            finish_reason=last.finish_reason or "stop",
        )
        record.outcome = "ok"
        stream.completion = account(
            record, request, done, self.router.registry.get(record.model_id)
        )
        metrics.observe_attempt(record, key.agent)
        if self.router.cache is not None:
            routed = RoutedCompletion(
                stream.completion, record.model_id, stream.attempts, degraded=stream.degraded
            )
            try:
                await self.router.cache.store(key, request, routed)
            except Exception:
                log.exception("response cache store failed; the answer was still served")

    def _failed(
        self,
        key: RouteKey,
        record: AttemptRecord,
        text: str,
        error: ProviderError | None,
        started: float,
        *,
        disconnected: bool = False,
    ) -> None:
        """A stream that broke after its first token: recorded as an error with what it said."""
        record.latency_ms = (self._clock() - started) * 1000
        record.output_tokens, record.tokens_estimated = estimate_tokens(text), True
        if disconnected:
            record.error_type, record.error = "ClientDisconnected", "the caller stopped reading"
        elif error is None:
            record.error_type, record.error = "MalformedResponseError", "the stream ended early"
        else:
            record.error_type, record.error = type(error).__name__, f"after streaming: {error}"
            if counts_against_provider(error):
                self.router.breakers[record.model_id].failure(Permit.CALL)
                self.router.health[record.model_id].record(False, record.latency_ms)
        metrics.observe_attempt(record, key.agent)


def _skip_key(record: AttemptRecord, exc: MissingCredentialError) -> None:
    record.outcome, record.error_type, record.error = "skipped_key", type(exc).__name__, str(exc)


def malformed_stream(model_id: str) -> MalformedResponseError:
    provider, _, model = model_id.partition(":")
    return MalformedResponseError(
        f"{model_id} ended its stream without a finish reason", provider=provider, model=model
    )
