"""Token estimates from the packaged tokenizer, and usage filled in when a provider gives none."""

from __future__ import annotations

import itertools

import pytest

from triad.providers.base import ChatMessage, Completion, CompletionRequest
from triad.providers.registry import ModelSpec
from triad.routing import tokens
from triad.routing.tokens import account, estimate_prompt_tokens, estimate_tokens, fill_usage
from triad.routing.types import AttemptRecord

PRICED = ModelSpec(
    id="openai:gpt-4o-mini",
    kind="openai",
    model="gpt-4o-mini",
    api_key_env="OPENAI_API_KEY",
    input_price_per_mtok=0.15,
    output_price_per_mtok=0.60,
)


def _request(text: str) -> CompletionRequest:
    return CompletionRequest(
        messages=[
            ChatMessage(role="system", content="You are terse."),
            ChatMessage(role="user", content=text),
        ]
    )


def test_the_packaged_tokenizer_loads_offline() -> None:
    assert tokens.tokenizer_available()
    # word pieces, not characters/4: "hibachi" splits, "the" does not
    assert estimate_tokens("the") == 1
    assert estimate_tokens("hibachi") > 1


def test_estimates_are_positive_and_grow_with_the_text() -> None:
    assert estimate_tokens("") == 0
    counts = [estimate_tokens("How much is the deposit to hold a date? " * n) for n in range(1, 8)]
    assert counts[0] > 0
    assert all(a < b for a, b in itertools.pairwise(counts))


def test_the_fallback_counts_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_tokenizer", lambda: None)
    assert estimate_tokens("x" * 9) == 3
    assert estimate_tokens("a") == 1


def test_missing_usage_is_estimated_and_flagged() -> None:
    request = _request("What is the deposit to hold a date?")
    done = Completion(text="A $100 deposit holds your date.", model="m", provider="p")
    filled, estimated = fill_usage(request, done)
    assert estimated
    assert (
        filled.input_tokens
        == estimate_prompt_tokens(request)
        > estimate_tokens(request.messages[-1].content)
    )
    assert filled.output_tokens == estimate_tokens(done.text) > 0


def test_reported_usage_is_kept() -> None:
    request = _request("hi")
    done = Completion(text="hello", model="m", provider="p", input_tokens=7, output_tokens=2)
    filled, estimated = fill_usage(request, done)
    assert (filled.input_tokens, filled.output_tokens, estimated) == (7, 2, False)


def test_account_fills_the_attempt_with_tokens_flag_and_list_price() -> None:
    request = _request("What is the deposit to hold a date?")
    record = AttemptRecord(model_id=PRICED.id, position=0, outcome="ok")
    done = Completion(text="A $100 deposit.", model="m", provider="p", output_tokens=1_000)
    filled = account(record, request, done, PRICED)
    assert record.tokens_estimated
    assert record.input_tokens == filled.input_tokens == estimate_prompt_tokens(request)
    assert record.output_tokens == 1_000
    expected = (record.input_tokens * 0.15 + 1_000 * 0.60) / 1_000_000
    assert record.cost_usd == pytest.approx(expected)
