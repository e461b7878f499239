"""Feature flags admins flip at run time, kept in `feature_flags` and read through a short cache.

Every flag Triad knows is declared in `KNOWN` with its default and the shape of its value, so
an unset flag reads as its default and a bad value is refused before it is stored. Reads are
cached for a few seconds per process: replicas see a change within `TTL_SECONDS`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from triad.db.models import FeatureFlag
from triad.errors import InputError, NotFoundError

TTL_SECONDS = 5.0
LLM_DIALOGUE = "llm_dialogue"


class DialogueFlagValue(BaseModel):
    """Settings of `llm_dialogue`: the customer sessions needed before lessons are learned."""

    model_config = ConfigDict(extra="forbid")

    activation_threshold: StrictInt = Field(default=1000, ge=0, le=100_000_000)


@dataclass(frozen=True)
class KnownFlag:
    """A flag's default state and the model its value must validate against."""

    key: str
    enabled: bool
    value_model: type[BaseModel]
    description: str


KNOWN: dict[str, KnownFlag] = {
    LLM_DIALOGUE: KnownFlag(
        key=LLM_DIALOGUE,
        enabled=False,
        value_model=DialogueFlagValue,
        description="nightly LLMDialogue that proposes lessons from the day's disagreements",
    ),
}


@dataclass(frozen=True)
class FlagState:
    """A flag as the code reads it: stored, or the known default when never set."""

    key: str
    enabled: bool
    value: dict[str, Any]
    description: str
    stored: bool


def _known(key: str) -> KnownFlag:
    if key not in KNOWN:
        raise NotFoundError(f"unknown feature flag '{key}'; known: {', '.join(sorted(KNOWN))}")
    return KNOWN[key]


def validate_value(key: str, value: dict[str, Any] | None) -> dict[str, Any]:
    """`value` with the flag's defaults filled in, or InputError naming the bad field."""
    known = _known(key)
    try:
        return known.value_model.model_validate(value or {}).model_dump()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InputError(f"invalid value for flag '{key}': {problems}") from exc


def _state(known: KnownFlag, row: FeatureFlag | None) -> FlagState:
    if row is None:
        return FlagState(
            known.key, known.enabled, validate_value(known.key, None), known.description, False
        )
    try:
        value = validate_value(known.key, row.value)
    except InputError:
        value = validate_value(known.key, None)
    return FlagState(known.key, row.enabled, value, row.description or known.description, True)


class FlagCache:
    """Flag states read within the last `ttl` seconds; `clock` is injectable for tests."""

    def __init__(self, ttl: float = TTL_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.clock = clock
        self._entries: dict[str, tuple[float, FlagState]] = {}

    def get(self, key: str) -> FlagState | None:
        entry = self._entries.get(key)
        if entry is None or self.clock() >= entry[0]:
            return None
        return entry[1]

    def put(self, state: FlagState) -> None:
        self._entries[state.key] = (self.clock() + self.ttl, state)

    def clear(self) -> None:
        self._entries.clear()


cache = FlagCache()


async def get_flag(session: AsyncSession, key: str, *, fresh: bool = False) -> FlagState:
    """The flag's state, from the cache when read within the TTL (unless `fresh`)."""
    known = _known(key)
    if not fresh and (hit := cache.get(key)) is not None:
        return hit
    row = await session.get(FeatureFlag, key, populate_existing=True)
    state = _state(known, row)
    cache.put(state)
    return state


async def list_flags(session: AsyncSession) -> list[FlagState]:
    """Every known flag, read fresh from the database."""
    rows = {r.key: r for r in await session.scalars(select(FeatureFlag))}
    states = [_state(k, rows.get(k.key)) for k in KNOWN.values()]
    for state in states:
        cache.put(state)
    return sorted(states, key=lambda s: s.key)


async def set_flag(
    session: AsyncSession, key: str, *, enabled: bool, value: dict[str, Any] | None = None
) -> FlagState:
    """Store a flag (upsert) and commit; `value` None keeps the stored value."""
    known = _known(key)
    current = await session.get(FeatureFlag, key, populate_existing=True)
    base = value if value is not None else (current.value if current is not None else None)
    checked = validate_value(key, base)
    statement = insert(FeatureFlag).values(
        key=key, enabled=enabled, value=checked, description=known.description
    )
    statement = statement.on_conflict_do_update(
        index_elements=[FeatureFlag.key],
        set_={"enabled": enabled, "value": checked, "updated_at": func.now()},
    )
    try:
        await session.execute(statement)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    state = FlagState(key, enabled, checked, known.description, True)
    cache.put(state)
    return state
