"""What an experiment arm changes about a turn or a call, and which arm a caller is in.

Kept free of the database and of the ensemble so the ensemble can read an `Assignment`
without importing how it was made.
"""

from __future__ import annotations

from dataclasses import dataclass

from triad.ensemble.config import RoleConfig

BASELINE = "baseline"


@dataclass(frozen=True)
class ArmChoice:
    """The overrides of one arm; None keeps what the ensemble or the route would use."""

    teacher_model: str | None = None
    student_model: str | None = None
    model: str | None = None
    """For task_type experiments: the model `/llm/complete` tries first."""
    prompt_version: int | None = None

    def roles(self, teacher: RoleConfig, student: RoleConfig) -> tuple[RoleConfig, RoleConfig]:
        """The configured roles with this arm's models swapped in (limits stay the role's)."""
        if self.teacher_model:
            teacher = teacher.model_copy(update={"model": self.teacher_model})
        if self.student_model:
            student = student.model_copy(update={"model": self.student_model})
        return teacher, student

    @property
    def roles_changed(self) -> set[str]:
        return {
            role
            for role, model in (("teacher", self.teacher_model), ("student", self.student_model))
            if model
        }


@dataclass(frozen=True)
class Assignment:
    """The experiment arm one turn or call runs in; recorded on every row it produces."""

    experiment_id: int
    experiment_key: str
    arm: str
    choice: ArmChoice
    kind: str = "ab"

    @property
    def cache_tag(self) -> str:
        """Keeps each arm's cached completions apart (it stands in for a prompt version)."""
        return f"experiment:{self.experiment_key}/{self.arm}"
