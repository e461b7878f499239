"""Small builders shared by the provider tests."""

from __future__ import annotations

from triad.providers.base import ChatMessage, CompletionRequest

# A realistic non-streaming reply of Ollama's POST /api/chat.
CHAT_RESPONSE = {
    "model": "llama3.1",
    "created_at": "2024-07-23T18:22:31.613543Z",
    "message": {"role": "assistant", "content": "A $100 deposit secures your date."},
    "done_reason": "stop",
    "done": True,
    "total_duration": 812345678,
    "load_duration": 12345678,
    "prompt_eval_count": 26,
    "prompt_eval_duration": 130000000,
    "eval_count": 9,
    "eval_duration": 650000000,
}


def ask(question: str, *, system: str | None = None, **options: object) -> CompletionRequest:
    """A one-question request; a short max_tokens keeps CPU generation fast."""
    messages = [ChatMessage(role="system", content=system)] if system else []
    messages.append(ChatMessage(role="user", content=question))
    return CompletionRequest.model_validate({"messages": messages, "max_tokens": 16, **options})
