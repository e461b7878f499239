"""`config/experiments.yaml`: which experiments exist, their arms and canary settings.

Definitions live in config; whether an experiment runs lives in the database (started,
paused and stopped through the admin API). Shares are percent of traffic and must sum to
100; a canary's shares come from its ramp steps instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from triad.agents.prompts import load_template
from triad.config_files import load_yaml_model
from triad.errors import ConfigurationError, InvalidConfigError
from triad.experiments.arms import ArmChoice
from triad.experiments.bucketing import BUCKETS
from triad.experiments.stats import ALPHA, MIN_DETECTABLE_EFFECT, POWER
from triad.providers.registry import ModelRegistry

RolesOf = Callable[[str], tuple[str, str]]
"""An agent's configured (teacher model, student model)."""


class ArmConfig(BaseModel):
    """One arm: its traffic share (percent) and what it changes."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")
    share: float | None = Field(default=None, ge=0, le=100, description="percent of traffic")
    teacher_model: str | None = None
    student_model: str | None = None
    model: str | None = Field(default=None, description="task_type experiments: model to try")
    prompt_version: int | None = Field(default=None, ge=1)

    @property
    def choice(self) -> ArmChoice:
        return ArmChoice(
            teacher_model=self.teacher_model,
            student_model=self.student_model,
            model=self.model,
            prompt_version=self.prompt_version,
        )

    def models(self) -> list[str]:
        return [m for m in (self.teacher_model, self.student_model, self.model) if m]


class CanaryConfig(BaseModel):
    """Ramp steps and the bounds the canary must stay within (relative to the baseline)."""

    model_config = ConfigDict(extra="forbid")

    steps: list[float] = Field(default=[1, 5, 25, 50, 100], min_length=1)
    min_requests_per_step: int = Field(default=50, ge=1)
    max_error_rate: float = Field(default=0.05, ge=0, le=1)
    rollback_min_requests: int = Field(default=50, ge=1)
    rollback_window: int = Field(default=200, ge=1, description="most recent canary calls")
    max_error_increase: float = Field(default=0.02, ge=0, le=1)
    max_p95_ratio: float = Field(default=1.5, gt=0)
    p95_slack_ms: float = Field(
        default=50.0, ge=0, description="latency differences below this never hold a canary"
    )
    max_hallucination_increase: float = Field(default=0.05, ge=0, le=1)
    evaluate_every_seconds: float = Field(
        default=5.0,
        ge=0,
        description="evaluate the canary at most this often per process (it runs on the "
        "request path after a turn or call)",
    )

    @model_validator(mode="after")
    def _steps_rise(self) -> Self:
        if any(not 0 < s <= 100 for s in self.steps):
            raise ValueError("canary steps must be percentages in (0, 100]")
        if any(b <= a for a, b in zip(self.steps, self.steps[1:], strict=False)):
            raise ValueError("canary steps must strictly increase")
        return self


class ExperimentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.-]+$")
    description: str = ""
    kind: Literal["ab", "canary"] = "ab"
    target_kind: Literal["agent", "task_type"]
    target: str = Field(min_length=1, max_length=64)
    salt: str | None = Field(default=None, description="defaults to the key")
    arms: list[ArmConfig] = Field(min_length=2)
    canary: CanaryConfig | None = None
    alpha: float = Field(default=ALPHA, gt=0, lt=1)
    power: float = Field(default=POWER, gt=0, lt=1)
    min_detectable_effect: float = Field(
        default=MIN_DETECTABLE_EFFECT,
        gt=0,
        le=0.5,
        description="absolute difference in a rate; at most 0.5 so every baseline rate has "
        "room to move by it in one direction",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        where = f"experiment '{self.key}'"
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError(f"{where}: arm names must be unique, got {names}")
        for arm in self.arms:
            if arm.teacher_model and arm.teacher_model == arm.student_model:
                raise ValueError(
                    f"{where}: arm '{arm.name}' makes '{arm.teacher_model}' both teacher and "
                    "student; the critic needs two different models"
                )
            if self.target_kind == "agent" and arm.model:
                raise ValueError(
                    f"{where}: arm '{arm.name}' sets `model`; agent experiments choose "
                    "teacher_model / student_model"
                )
            if self.target_kind == "task_type" and (
                arm.teacher_model or arm.student_model or arm.prompt_version
            ):
                raise ValueError(
                    f"{where}: arm '{arm.name}': task_type experiments only choose `model`"
                )
        if self.kind == "canary":
            if len(self.arms) != 2:
                raise ValueError(f"{where}: a canary has two arms, the baseline then the canary")
            if any(a.share is not None for a in self.arms):
                raise ValueError(f"{where}: a canary's shares come from canary.steps; drop share")
            if self.arms[0].choice != ArmChoice():
                raise ValueError(f"{where}: a canary's first arm is the unchanged baseline")
        else:
            if self.canary is not None:
                raise ValueError(f"{where}: `canary` settings need kind: canary")
            if any(a.share is None for a in self.arms):
                raise ValueError(f"{where}: every arm of an A/B test needs a share (percent)")
            total = sum(round((a.share or 0) * 100) for a in self.arms)
            if total != BUCKETS:
                raise ValueError(
                    f"{where}: arm shares sum to {total / 100:g}%, they must sum to 100%"
                )
        return self

    @property
    def canary_settings(self) -> CanaryConfig:
        return self.canary or CanaryConfig()

    @property
    def salt_value(self) -> str:
        return self.salt or self.key


class ExperimentsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    experiments: list[ExperimentConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        keys = [e.key for e in self.experiments]
        duplicated = sorted({k for k in keys if keys.count(k) > 1})
        if duplicated:
            raise ValueError(f"experiment keys must be unique: {', '.join(duplicated)}")
        return self

    @classmethod
    def from_yaml(cls, path: Path) -> ExperimentsConfig:
        return load_yaml_model(cls, path, "experiments", empty_ok=True)

    def check(
        self, registry: ModelRegistry, agents: set[str], roles: RolesOf | None = None
    ) -> None:
        """Every model in the registry, every agent known, every prompt version on disk, and
        (given the agents' `roles`) no arm whose teacher and student are the same model."""
        for exp in self.experiments:
            where = f"experiment '{exp.key}'"
            if exp.target_kind == "agent" and exp.target not in agents:
                raise InvalidConfigError(
                    f"{where}: unknown agent '{exp.target}'; known: {', '.join(sorted(agents))}"
                )
            if exp.target_kind == "agent" and roles is not None:
                _check_distinct_roles(where, exp, *roles(exp.target))
            for arm in exp.arms:
                for model_id in arm.models():
                    if model_id not in registry:
                        raise InvalidConfigError(
                            f"{where}, arm '{arm.name}': model '{model_id}' is not in the "
                            f"registry (config/models.yaml); known: "
                            f"{', '.join(sorted(s.id for s in registry))}"
                        )
                if arm.prompt_version is not None:
                    try:
                        load_template(exp.target, arm.prompt_version)
                    except ConfigurationError as exc:
                        raise InvalidConfigError(f"{where}, arm '{arm.name}': {exc}") from exc


def _check_distinct_roles(where: str, exp: ExperimentConfig, teacher: str, student: str) -> None:
    """An arm must not answer both sides of the comparison with one model: the critic's
    consensus between a model and itself says nothing."""
    for arm in exp.arms:
        arm_teacher = arm.teacher_model or teacher
        arm_student = arm.student_model or student
        if (arm.teacher_model or arm.student_model) and arm_teacher == arm_student:
            side = "student_model" if arm.student_model else "teacher_model"
            raise InvalidConfigError(
                f"{where}, arm '{arm.name}': {side} '{arm_teacher}' is also the "
                f"{'teacher' if side == 'student_model' else 'student'} of agent "
                f"'{exp.target}'; teacher and student must be different models"
            )
