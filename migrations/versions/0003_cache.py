"""The response cache (exact key + pgvector embedding, scoped by prompt and knowledge
version, with an expiry) and the cache hits that record what each served answer saved.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 03:32:52.080555
"""

from collections.abc import Sequence

import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cache_entries",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("exact_key", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("tenant", sa.Text(), nullable=True),
        sa.Column("agent", sa.String(length=32), nullable=True),
        sa.Column("task_type", sa.String(length=64), nullable=True),
        sa.Column("prompt_version", sa.Text(), nullable=False),
        sa.Column("knowledge_version", sa.Integer(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("numbers", sa.Text(), nullable=False),
        sa.Column("embedding", pgvector.sqlalchemy.vector.VECTOR(dim=384), nullable=True),
        sa.Column("model_id", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("meta", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind in ('completion', 'turn')", name=op.f("ck_cache_entries_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cache_entries")),
        sa.UniqueConstraint("exact_key", name=op.f("uq_cache_entries_exact_key")),
    )
    op.create_index("ix_cache_entries_expires", "cache_entries", ["expires_at"], unique=False)
    op.create_index(
        "ix_cache_entries_scope",
        "cache_entries",
        ["scope", "prompt_version", "knowledge_version"],
        unique=False,
    )
    op.create_table(
        "cache_hits",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("tenant", sa.Text(), nullable=True),
        sa.Column("agent", sa.String(length=32), nullable=True),
        sa.Column("task_type", sa.String(length=64), nullable=True),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("saved_usd", sa.Float(), nullable=False),
        sa.Column("saved_tokens", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("kind in ('exact', 'semantic')", name=op.f("ck_cache_hits_kind")),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["cache_entries.id"],
            name=op.f("fk_cache_hits_entry_id_cache_entries"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_cache_hits_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cache_hits")),
    )
    op.create_index("ix_cache_hits_created", "cache_hits", ["created_at"], unique=False)
    op.create_index(op.f("ix_cache_hits_entry_id"), "cache_hits", ["entry_id"], unique=False)
    op.create_index(op.f("ix_cache_hits_message_id"), "cache_hits", ["message_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_cache_hits_message_id"), table_name="cache_hits")
    op.drop_index(op.f("ix_cache_hits_entry_id"), table_name="cache_hits")
    op.drop_index("ix_cache_hits_created", table_name="cache_hits")
    op.drop_table("cache_hits")
    op.drop_index("ix_cache_entries_scope", table_name="cache_entries")
    op.drop_index("ix_cache_entries_expires", table_name="cache_entries")
    op.drop_table("cache_entries")
