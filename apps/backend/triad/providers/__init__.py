"""Model adapters, one per wire protocol, behind the one `Provider` shape, and their registry."""

from triad.providers.anthropic_provider import AnthropicProvider
from triad.providers.base import (
    ChatMessage,
    Completion,
    CompletionRequest,
    ContextPassage,
    FinishReason,
    Provider,
    StreamChunk,
)
from triad.providers.extractive import NO_INFORMATION, EmbedFn, ExtractiveProvider
from triad.providers.local import (
    LocalLlamaServer,
    LocalProvider,
    default_gguf_path,
    local_openai_client,
    shared_server,
)
from triad.providers.ollama_provider import OllamaProvider, ollama_client
from triad.providers.openai_compat import OpenAIProvider
from triad.providers.registry import (
    ExtractiveOptions,
    LocalOptions,
    ModelRegistry,
    ModelSpec,
    OllamaOptions,
)

__all__ = [
    "NO_INFORMATION",
    "AnthropicProvider",
    "ChatMessage",
    "Completion",
    "CompletionRequest",
    "ContextPassage",
    "EmbedFn",
    "ExtractiveOptions",
    "ExtractiveProvider",
    "FinishReason",
    "LocalLlamaServer",
    "LocalOptions",
    "LocalProvider",
    "ModelRegistry",
    "ModelSpec",
    "OllamaOptions",
    "OllamaProvider",
    "OpenAIProvider",
    "Provider",
    "StreamChunk",
    "default_gguf_path",
    "local_openai_client",
    "ollama_client",
    "shared_server",
]
