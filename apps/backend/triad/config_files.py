"""Reading an operator's YAML file into a validated model, with one kind of error message."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import AfterValidator, BaseModel, ValidationError

from triad.errors import InvalidConfigError

M = TypeVar("M", bound=BaseModel)


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone '{value}'") from exc
    return value


TimeZoneName = Annotated[str, AfterValidator(_known_zone)]
"""An IANA time zone name, checked when a config file is loaded."""


def load_yaml_model(model: type[M], path: Path, what: str, *, empty_ok: bool = False) -> M:
    """`model` validated from the YAML at `path`; any problem is an InvalidConfigError naming
    the file and, for validation errors, each field with what is wrong with it.

    `empty_ok` lets an empty file stand for all defaults.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidConfigError(f"cannot read {what} config {path}: {exc}") from exc
    try:
        return model.model_validate({} if raw is None and empty_ok else raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidConfigError(f"invalid {what} config {path}: {problems}") from exc
