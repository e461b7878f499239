"""End to end through the real OpenAI adapter against the loopback chaos server.

Proves that the router's loop is the only one: the upstream request count is exactly what the
retry policy allows (SDK retries are off), and real HTTP failures (status codes, Retry-After
headers, hangs, broken bodies) take the same paths as the scripted ones.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import openai
import pytest

from tests.routing.helpers import (
    KEY,
    LOCAL,
    ONE_FAILURE_OPENS,
    OPENAI,
    FakeTime,
    make_router,
    routing,
)
from tests.support.loopback import LoopbackServer, Reply
from triad.providers import OpenAIProvider
from triad.providers.base import ChatMessage, CompletionRequest
from triad.routing.router import Router, RoutingFailedError

PATH = "/v1/chat/completions"


def answer(text: str = "Hello there") -> Reply:
    return Reply.json(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": "gpt-test",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
        }
    )


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    # Anything unscripted is a 500, so an unexpected extra request would show in the count.
    with LoopbackServer(default=Reply.error(500, "unscripted")) as loopback:
        yield loopback


@pytest.fixture
async def adapters(server: LoopbackServer) -> AsyncIterator[dict[str, OpenAIProvider]]:
    """Two registry ids served by the loopback server (model names `primary` and `backup`)."""
    built = {
        model_id: OpenAIProvider(
            openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="test-key"), model=name
        )
        for model_id, name in ((OPENAI, "primary"), (LOCAL, "backup"))
    }
    yield built
    for adapter in built.values():
        await adapter.aclose()


def sent_to(server: LoopbackServer, model: str) -> int:
    return sum(1 for r in server.requests_to(PATH) if r.json()["model"] == model)


def request(timeout_s: float = 10.0) -> CompletionRequest:
    return CompletionRequest(
        messages=[ChatMessage(role="user", content="hello?")], max_tokens=8, timeout_s=timeout_s
    )


def router_for(adapters: dict[str, OpenAIProvider], **config: object) -> tuple[Router, FakeTime]:
    return make_router(adapters, routing(**config), rng=lambda: 1.0)


async def test_503_503_200_is_exactly_three_upstream_requests(
    server: LoopbackServer, adapters: dict[str, OpenAIProvider]
) -> None:
    server.enqueue(Reply.error(503), Reply.error(503), answer())
    router, time = router_for(adapters)
    routed = await router.route(KEY, request())
    assert routed.completion.text == "Hello there"
    assert len(server.requests) == 3 and sent_to(server, "primary") == 3
    assert time.sleeps == [0.25, 0.5]
    [attempt] = routed.attempts
    assert attempt.retry_count == 2 and attempt.input_tokens == 5 and attempt.output_tokens == 2


async def test_all_failing_is_exactly_max_attempts_per_model(
    server: LoopbackServer, adapters: dict[str, OpenAIProvider]
) -> None:
    server.always(Reply.error(503))
    router, time = router_for(adapters)
    with pytest.raises(RoutingFailedError) as caught:
        await router.route(KEY, request())
    assert sent_to(server, "primary") == 3 and sent_to(server, "backup") == 3
    assert len(server.requests) == 6 and len(time.sleeps) == 4
    assert [r.retry_count for r in caught.value.records] == [2, 2]


async def test_retry_after_header_is_slept_exactly(
    server: LoopbackServer, adapters: dict[str, OpenAIProvider]
) -> None:
    server.enqueue(Reply.rate_limited("2"), answer())
    router, time = router_for(adapters)
    routed = await router.route(KEY, request())
    assert time.sleeps == [2.0] and len(server.requests) == 2
    assert routed.model_id == OPENAI and routed.attempts[0].retry_count == 1


async def test_retry_after_past_the_deadline_goes_to_the_next_model_at_once(
    server: LoopbackServer, adapters: dict[str, OpenAIProvider]
) -> None:
    server.enqueue(Reply.rate_limited("40"), answer("from the backup"))
    router, time = router_for(adapters, retry={"deadline_s": 30, "cap_s": 60})
    routed = await router.route(KEY, request())
    assert time.sleeps == [] and routed.model_id == LOCAL
    assert sent_to(server, "primary") == 1 and sent_to(server, "backup") == 1
    assert routed.degraded


@pytest.mark.parametrize("status", [401, 400])
async def test_401_and_400_are_one_request_then_the_fallback(
    server: LoopbackServer, adapters: dict[str, OpenAIProvider], status: int
) -> None:
    server.enqueue(Reply.error(status, "no"), answer())
    router, time = router_for(adapters)
    routed = await router.route(KEY, request())
    assert sent_to(server, "primary") == 1 and sent_to(server, "backup") == 1
    assert time.sleeps == [] and routed.model_id == LOCAL


async def test_malformed_body_and_hang_are_retried(
    server: LoopbackServer, adapters: dict[str, OpenAIProvider]
) -> None:
    server.enqueue(Reply.not_json(), Reply.hang(5), answer())
    router, _ = router_for(adapters)
    routed = await router.route(KEY, request(timeout_s=0.3))
    assert routed.model_id == OPENAI and len(server.requests) == 3
    assert routed.attempts[0].retry_count == 2


async def test_an_open_breaker_sends_nothing_upstream(
    server: LoopbackServer, adapters: dict[str, OpenAIProvider]
) -> None:
    server.always(Reply.error(503))
    router, time = router_for(
        adapters, retry={"max_attempts": 1}, breaker={**ONE_FAILURE_OPENS, "min_calls": 2}
    )
    for _ in range(2):
        with pytest.raises(RoutingFailedError):
            await router.route(KEY, request())
    assert len(server.requests) == 4
    with pytest.raises(RoutingFailedError) as caught:
        await router.route(KEY, request())
    assert len(server.requests) == 4, "both breakers are open: no request at all"
    assert [r.outcome for r in caught.value.records] == ["skipped_breaker"] * 2

    time.advance(300)
    server.always(answer())
    routed = await router.route(KEY, request())
    assert len(server.requests) == 5 and routed.model_id == OPENAI
    assert json.loads(server.requests[-1].body)["model"] == "primary"
