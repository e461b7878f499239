"""`config/dialogue.yaml`: when the nightly dialogue runs and how it groups and writes lessons."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from triad.config_files import TimeZoneName, load_yaml_model
from triad.routing.budget import BudgetConfig
from triad.settings import Settings

DEFAULT_TIMEZONE = "America/Los_Angeles"


class DialogueConfig(BaseModel):
    """The nightly job's schedule and thresholds; `timezone` None means the budgets' zone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: TimeZoneName | None = None
    run_at: time = time(2, 0)
    group_threshold: float = Field(default=0.75, gt=0, le=1)
    duplicate_cosine: float = Field(default=0.9, gt=0, le=1)
    max_cases: int = Field(default=500, ge=1, le=100_000)
    max_prompt_lessons: int = Field(default=5, ge=0, le=50)
    critic: str | None = Field(
        default="judge", description="a registry model id, 'judge' (the ensemble's), or null"
    )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone or DEFAULT_TIMEZONE)

    @classmethod
    def from_yaml(cls, path: Path, *, budgets: Path | None = None) -> DialogueConfig:
        """The file's settings; with no `timezone` there, the budgets file's zone is used."""
        config = load_yaml_model(cls, path, "dialogue", empty_ok=True)
        if config.timezone is None and budgets is not None and budgets.exists():
            zone = BudgetConfig.from_yaml(budgets).timezone
            config = config.model_copy(update={"timezone": zone})
        return config


def dialogue_config(settings: Settings) -> DialogueConfig:
    """The dialogue config of a deployment's settings."""
    return DialogueConfig.from_yaml(settings.dialogue_config, budgets=settings.budgets_config)
