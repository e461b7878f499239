"""Admin API for the keys of the machine APIs: make one (its secret shown once), list, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from triad.api.deps import CurrentAdmin, SessionDep
from triad.auth import keys
from triad.db.models import ApiKey

router = APIRouter(prefix="/admin/api/keys", tags=["admin"])

KeyId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the key's id")]


class KeyOut(BaseModel):
    """A key as admins see it: never its secret, only the prefix that tells keys apart."""

    id: int
    name: str
    owner: str
    prefix: str
    allowed_models: list[str] | None
    budget_usd: float | None
    budget_days: int | None
    rpm_limit: int | None
    spent_usd: float = Field(description="over the budget's days, or ever")
    created_by: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiKey, spent: float) -> KeyOut:
        return cls(
            id=row.id,
            name=row.name,
            owner=row.owner,
            prefix=row.prefix,
            allowed_models=row.allowed_models,
            budget_usd=row.budget_usd,
            budget_days=row.budget_days,
            rpm_limit=row.rpm_limit,
            spent_usd=round(spent, 6),
            created_by=row.created_by,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


class KeyCreated(KeyOut):
    secret: str = Field(description="send it as 'Authorization: Bearer <secret>'; shown only now")


@router.post("", status_code=201)
async def create_key(spec: keys.KeySpec, session: SessionDep, admin: CurrentAdmin) -> KeyCreated:
    """Make a key for `/v1` and `/llm/complete`; the secret is in this answer and nowhere else."""
    made = await keys.create_key(session, spec, created_by=admin.email or admin.display_name)
    row = await session.get(ApiKey, made.id)
    assert row is not None
    return KeyCreated(**KeyOut.of(row, 0.0).model_dump(), secret=made.secret)


@router.get("")
async def list_keys(
    session: SessionDep, admin: CurrentAdmin, include_revoked: bool = False
) -> list[KeyOut]:
    """Every live key (and the revoked ones when asked), with what each has spent."""
    rows = await keys.list_keys(session, include_revoked=include_revoked)
    spent = await keys.spent_by_key(session, rows)
    return [KeyOut.of(row, spent[row.id]) for row in rows]


@router.delete("/{key_id}")
async def revoke_key(key_id: KeyId, session: SessionDep, admin: CurrentAdmin) -> KeyOut:
    """Revoke a key at once (404 for no such key, 409 when already revoked)."""
    row = await keys.revoke_key(session, key_id)
    return KeyOut.of(row, await keys.spent_usd(session, row))
