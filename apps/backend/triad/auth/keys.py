"""Keys for the machine APIs (`/v1/*`, `/llm/complete`), made by an admin for an owner.

The shape LiteLLM and Portkey use: a key is sent as `Authorization: Bearer sk-triad-...` (what
the OpenAI SDK sends), is stored only as its SHA-256 (it is a long random string, so a slow
hash buys nothing) and shown once when made. Each key may be limited to some models (names or
shell patterns: `triad/*`), a budget in USD (spent ever, or over the last N days, summed from
the `provider_calls` rows that carry the key) and requests per minute (a sliding window in
PostgreSQL, shared by replicas). `/llm/complete` counts as the model `triad/auto`: like it,
it is the plain router.

The budget is checked before a call, so the call that crosses it is allowed and recorded;
the next one is refused.
"""

from __future__ import annotations

import fnmatch
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from triad.auth import throttle
from triad.db.models import ApiKey, ProviderCall
from triad.errors import (
    BudgetExceededError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    TooManyRequestsError,
)

KEY_PREFIX = "sk-triad-"
ROUTER_MODEL = "triad/auto"
"""The model name `/llm/complete` is checked as, for keys limited to some models."""
RATE_WINDOW_SECONDS = 60.0


class KeySpec(BaseModel):
    """What a new key is for and what it may do; an omitted limit means none."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="what the key is for")
    owner: str = Field(min_length=1, max_length=200, description="who holds it (team, service)")
    allowed_models: list[str] | None = Field(
        default=None,
        max_length=100,
        description="model names or patterns (`triad/*`) it may use; null: every model",
    )
    budget_usd: float | None = Field(default=None, ge=0, le=1e9)
    budget_days: int | None = Field(
        default=None, ge=1, le=3660, description="the budget is per this many days; null: ever"
    )
    rpm_limit: int | None = Field(default=None, ge=1, le=1_000_000, description="requests/min")

    @field_validator("name", "owner")
    @classmethod
    def _stripped(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @field_validator("allowed_models")
    @classmethod
    def _models(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        names = [v.strip() for v in value]
        if not all(0 < len(n) <= 200 for n in names):
            raise ValueError("each model name must be 1 to 200 characters")
        return names


@dataclass(frozen=True)
class NewKey:
    """A freshly made key: `secret` is shown once and never stored."""

    id: int
    name: str
    owner: str
    prefix: str
    secret: str


@dataclass(frozen=True)
class KeyGrant:
    """The key a request came with, as the routes need it."""

    id: int
    name: str
    owner: str
    allowed_models: tuple[str, ...] | None

    def allows(self, model: str) -> bool:
        if self.allowed_models is None:
            return True
        return any(fnmatch.fnmatchcase(model, pattern) for pattern in self.allowed_models)

    def check_model(self, model: str) -> None:
        """ForbiddenError (403) naming the key's models when `model` is not one of them."""
        if not self.allows(model):
            allowed = ", ".join(self.allowed_models or ()) or "none"
            raise ForbiddenError(
                f"API key '{self.name}' may not use the model '{model}'; it may use: {allowed}"
            )


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


async def create_key(session: AsyncSession, spec: KeySpec, *, created_by: str | None) -> NewKey:
    """A new key; only its SHA-256 and a short prefix are kept."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=spec.name,
        owner=spec.owner,
        key_hash=hash_key(secret),
        prefix=secret[:16],
        allowed_models=spec.allowed_models,
        budget_usd=spec.budget_usd,
        budget_days=spec.budget_days,
        rpm_limit=spec.rpm_limit,
        created_by=created_by,
    )
    session.add(row)
    await session.commit()
    return NewKey(id=row.id, name=row.name, owner=row.owner, prefix=row.prefix, secret=secret)


async def list_keys(session: AsyncSession, *, include_revoked: bool = False) -> list[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list(await session.scalars(query))


async def revoke_key(session: AsyncSession, key_id: int) -> ApiKey:
    """Revoke a key at once (NotFound for no such key, Conflict when already revoked)."""
    row = await session.get(ApiKey, key_id)
    if row is None:
        raise NotFoundError(f"no API key with id {key_id}")
    if row.revoked_at is not None:
        raise ConflictError(f"API key {key_id} ('{row.name}') is already revoked")
    row.revoked_at = datetime.now(UTC)
    await session.commit()
    return row


async def spent_usd(session: AsyncSession, key: ApiKey) -> float:
    """What the key's calls cost: over its budget's days, or ever."""
    query = select(func.coalesce(func.sum(ProviderCall.cost_usd), 0.0)).where(
        ProviderCall.api_key_id == key.id
    )
    if key.budget_days is not None:
        since = func.now() - timedelta(days=key.budget_days)
        query = query.where(ProviderCall.created_at >= since)
    return float(await session.scalar(query) or 0.0)


async def spent_by_key(session: AsyncSession, keys: Sequence[ApiKey]) -> dict[int, float]:
    return {key.id: await spent_usd(session, key) for key in keys}


async def admit(session: AsyncSession, secret: str) -> KeyGrant | None:
    """The live key for `secret` if this request fits its rate limit and budget; None for an
    unknown or revoked key. TooManyRequestsError (429, Retry-After) over the rate limit,
    BudgetExceededError (429, naming the budget) once the budget is spent."""
    if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None
    key = await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hash_key(secret), ApiKey.revoked_at.is_(None))
    )
    if key is None:
        return None
    if key.rpm_limit is not None:
        verdict = await throttle.hit(
            session,
            f"api-key:{key.id}",
            limit=key.rpm_limit,
            window_seconds=RATE_WINDOW_SECONDS,
        )
        if not verdict.allowed:
            raise TooManyRequestsError(
                f"API key '{key.name}' is over its limit of {key.rpm_limit} requests per minute",
                retry_after=verdict.retry_after,
            )
    if key.budget_usd is not None:
        spent = await spent_usd(session, key)
        if spent >= key.budget_usd:
            period = f"the last {key.budget_days} days" if key.budget_days else "its lifetime"
            raise BudgetExceededError(
                f"API key '{key.name}' has spent ${spent:.4f} of its ${key.budget_usd:.2f} budget "
                f"over {period}; an admin can make a key with a larger budget",
                budget=f"api key {key.name}",
            )
    now = datetime.now(UTC)
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        await session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        await session.commit()
    models = tuple(key.allowed_models) if key.allowed_models is not None else None
    return KeyGrant(id=key.id, name=key.name, owner=key.owner, allowed_models=models)
