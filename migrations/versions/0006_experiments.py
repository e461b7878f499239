"""Experiments (A/B tests and canaries) with their events, and the experiment and arm recorded
on every turn, provider call and training signal.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 05:11:20
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("salt", sa.Text(), nullable=False),
        sa.Column("arms", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("canary", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("kind in ('ab', 'canary')", name=op.f("ck_experiments_kind")),
        sa.CheckConstraint(
            "status in ('draft', 'running', 'paused', 'stopped', 'rolled_back')",
            name=op.f("ck_experiments_status"),
        ),
        sa.CheckConstraint(
            "target_kind in ('agent', 'task_type')", name=op.f("ck_experiments_target_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiments")),
        sa.UniqueConstraint("key", name=op.f("uq_experiments_key")),
    )
    op.create_table(
        "experiment_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("experiment_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_experiment_events_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experiment_events")),
    )
    op.create_index(
        op.f("ix_experiment_events_experiment_id"),
        "experiment_events",
        ["experiment_id"],
        unique=False,
    )
    op.add_column("messages", sa.Column("experiment_id", sa.BigInteger(), nullable=True))
    op.add_column("messages", sa.Column("experiment_arm", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_messages_experiment_id"), "messages", ["experiment_id"], unique=False)
    op.create_foreign_key(
        op.f("fk_messages_experiment_id_experiments"),
        "messages",
        "experiments",
        ["experiment_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.add_column("provider_calls", sa.Column("experiment_id", sa.BigInteger(), nullable=True))
    op.add_column(
        "provider_calls", sa.Column("experiment_arm", sa.String(length=64), nullable=True)
    )
    op.create_index(
        op.f("ix_provider_calls_experiment_id"), "provider_calls", ["experiment_id"], unique=False
    )
    op.create_foreign_key(
        op.f("fk_provider_calls_experiment_id_experiments"),
        "provider_calls",
        "experiments",
        ["experiment_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.add_column("training_signals", sa.Column("experiment_id", sa.BigInteger(), nullable=True))
    op.add_column(
        "training_signals", sa.Column("experiment_arm", sa.String(length=64), nullable=True)
    )
    op.create_index(
        op.f("ix_training_signals_experiment_id"),
        "training_signals",
        ["experiment_id"],
        unique=False,
    )
    op.create_foreign_key(
        op.f("fk_training_signals_experiment_id_experiments"),
        "training_signals",
        "experiments",
        ["experiment_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_training_signals_experiment_id_experiments"),
        "training_signals",
        type_="foreignkey",
    )
    op.drop_index(op.f("ix_training_signals_experiment_id"), table_name="training_signals")
    op.drop_column("training_signals", "experiment_arm")
    op.drop_column("training_signals", "experiment_id")
    op.drop_constraint(
        op.f("fk_provider_calls_experiment_id_experiments"), "provider_calls", type_="foreignkey"
    )
    op.drop_index(op.f("ix_provider_calls_experiment_id"), table_name="provider_calls")
    op.drop_column("provider_calls", "experiment_arm")
    op.drop_column("provider_calls", "experiment_id")
    op.drop_constraint(
        op.f("fk_messages_experiment_id_experiments"), "messages", type_="foreignkey"
    )
    op.drop_index(op.f("ix_messages_experiment_id"), table_name="messages")
    op.drop_column("messages", "experiment_arm")
    op.drop_column("messages", "experiment_id")
    op.drop_index(op.f("ix_experiment_events_experiment_id"), table_name="experiment_events")
    op.drop_table("experiment_events")
    op.drop_table("experiments")
