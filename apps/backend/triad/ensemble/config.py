"""Which model plays which role for which agent, read from `config/ensemble.yaml`.

Profiles keep the offline default (extractive teacher, local SmolLM2 student, grounded critic)
and the keyed setup (OpenAI / Anthropic / xAI judge) side by side; one variable picks one.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from triad.config_files import load_yaml_model
from triad.errors import InvalidConfigError


class RoleConfig(BaseModel):
    """One answering role: a registry model id and its own limits."""

    model_config = ConfigDict(extra="forbid")

    model: str
    timeout_s: float = Field(default=30.0, gt=0, le=600)
    max_tokens: int = Field(default=160, ge=1, le=8192)
    temperature: float = Field(default=0.2, ge=0, le=2)
    stop: list[str] | None = Field(default=None, description="e.g. a blank line for small models")


class AgentRoles(BaseModel):
    """Per-agent overrides of the profile's roles."""

    model_config = ConfigDict(extra="forbid")

    teacher: RoleConfig | None = None
    student: RoleConfig | None = None
    judge: str | None = None


class Profile(BaseModel):
    """A complete assignment of roles; `judge` is the optional LLM critic's model id."""

    model_config = ConfigDict(extra="forbid")

    teacher: RoleConfig
    student: RoleConfig
    judge: str | None = None
    agents: dict[str, AgentRoles] = Field(default_factory=dict)


class EnsembleConfig(BaseModel):
    """Roles, thresholds and customer-facing texts of the ensemble."""

    model_config = ConfigDict(extra="forbid")

    profile: str = "offline"
    profiles: dict[str, Profile]
    consensus_threshold: float = Field(default=0.7, ge=0, le=1)
    retrieval_k: int = Field(default=5, ge=1, le=20)
    retrieval_outside: int = Field(default=2, ge=0, le=20)
    """A passage outside the agent's sources joins when it is among this many best overall."""
    holding_reply: str = (
        "Thanks for your question! A team member will confirm shortly and reply right here."
    )

    def active(self, profile: str | None = None) -> Profile:
        name = profile or self.profile
        if name not in self.profiles:
            raise InvalidConfigError(
                f"ensemble profile '{name}' is not defined; known: {sorted(self.profiles)}"
            )
        return self.profiles[name]

    def roles_for(self, agent: str, profile: str | None = None) -> tuple[RoleConfig, RoleConfig]:
        """The teacher and student for `agent`, with per-agent overrides applied."""
        active = self.active(profile)
        override = active.agents.get(agent, AgentRoles())
        return override.teacher or active.teacher, override.student or active.student

    def judge_for(self, agent: str, profile: str | None = None) -> str | None:
        active = self.active(profile)
        override = active.agents.get(agent)
        return (override.judge if override and override.judge else None) or active.judge

    @classmethod
    def from_yaml(cls, path: Path) -> EnsembleConfig:
        return load_yaml_model(cls, path, "ensemble")
