"""The no-LLM answer: relevant sentences from the passages, deterministic, honest when empty."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from tests.providers.helpers import ask
from triad.providers import (
    NO_INFORMATION,
    ChatMessage,
    CompletionRequest,
    ContextPassage,
    ExtractiveProvider,
)

MENU = ContextPassage(
    text=(
        "## Menu\n"
        "Every plate includes hibachi fried rice and vegetables. Proteins are chicken, steak or "
        "shrimp.\n- Lobster tail is available as an upgrade.\n- We do not serve sushi."
    ),
    source="menu.md",
)
DEPOSIT = ContextPassage(
    text=(
        "## Deposit and payment\n"
        "- A $100 deposit secures the date; it is credited toward the final bill.\n"
        "- The balance is paid on the day of the event, by card or cash."
    ),
    source="pricing.md",
)


def asking(question: str, *passages: ContextPassage) -> CompletionRequest:
    return ask(question).model_copy(update={"context": list(passages)})


async def test_the_relevant_sentence_comes_first() -> None:
    done = await ExtractiveProvider().complete(asking("What is the deposit?", MENU, DEPOSIT))
    assert done.text.startswith("A $100 deposit secures the date")
    assert "sushi" not in done.text
    assert (done.provider, done.model, done.finish_reason) == ("extractive", "passages", "stop")
    assert done.output_tokens == len(done.text.split())
    assert done.input_tokens is not None and done.input_tokens > done.output_tokens


async def test_same_input_same_output() -> None:
    provider = ExtractiveProvider()
    request = asking("Can I get lobster or shrimp, and how do I pay?", MENU, DEPOSIT)
    first, second = await provider.complete(request), await provider.complete(request)
    assert first.text == second.text
    assert first.text.count(".") >= 2


async def test_ties_follow_passage_order_and_max_sentences_caps() -> None:
    a = ContextPassage(text="Parking is free at the venue.")
    b = ContextPassage(text="Parking is free at the hotel.")
    c = ContextPassage(text="Parking is free at the beach.")
    one = await ExtractiveProvider(max_sentences=1).complete(asking("Is parking free?", b, a, c))
    assert one.text == "Parking is free at the hotel."
    two = await ExtractiveProvider(max_sentences=2).complete(asking("Is parking free?", c, a, b))
    assert two.text == "Parking is free at the beach. Parking is free at the venue."


async def test_no_context_is_an_honest_answer_not_an_error() -> None:
    done = await ExtractiveProvider().complete(ask("What is the deposit?"))
    assert done.text == NO_INFORMATION
    assert done.finish_reason == "stop"
    unrelated = await ExtractiveProvider().complete(asking("Can I bring my dog?", MENU, DEPOSIT))
    assert unrelated.text == NO_INFORMATION


def keyword_embed(texts: Sequence[str]) -> npt.NDArray[np.float64]:
    """A fake embedder that knows 'kids' and 'children' mean the same thing."""
    axes = [("kid", "child"), ("price", "cost", "$"), ("sushi", "fish")]
    rows = np.array(
        [
            [1.0 if any(w in t.lower() for w in axis) else 0.0 for axis in axes] + [0.1]
            for t in texts
        ]
    )
    return np.asarray(rows / np.linalg.norm(rows, axis=1, keepdims=True), dtype=np.float64)


async def test_injected_embeddings_find_synonyms_lexical_overlap_misses() -> None:
    prices = ContextPassage(text="Children under 4 eat free. Adults pay $60 each.")
    question = asking("Do kids pay less?", MENU, prices)
    lexical = await ExtractiveProvider().complete(question)
    semantic = await ExtractiveProvider(embed=keyword_embed).complete(question)
    assert lexical.text.startswith("Adults pay $60 each.")
    assert semantic.text.startswith("Children under 4 eat free.")


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="max_sentences"):
        ExtractiveProvider(max_sentences=0)


async def test_list_items_come_with_their_list_and_heading() -> None:
    menu = ContextPassage(
        text="- Chicken (marinated thigh meat)\n- Shrimp\n- NY strip steak\n- Salmon\n- Tofu",
        heading_path="Menu > Standard proteins",
        source="menu.md",
    )
    other = ContextPassage(text="A $100 deposit secures the date.", heading_path="Deposit")
    provider = ExtractiveProvider(max_sentences=2)
    request = CompletionRequest(
        messages=[ChatMessage(role="user", content="Which proteins do you have, steak?")],
        context=[menu, other],
    )
    text = (await provider.complete(request)).text
    assert text.startswith("Standard proteins: Chicken (marinated thigh meat), Shrimp, NY strip")
    assert text.count("NY strip steak") == 1
    assert "deposit" not in text
