"""The learning loop: nightly dialogue runs (one per tenant and date), daily win-rate rollups,
APScheduler's job store table, and what lessons need to be reviewed, matched and ranked.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 05:11:20
"""

from collections.abc import Sequence

import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_apscheduler_jobs")),
    )
    op.create_index(
        op.f("ix_apscheduler_jobs_next_run_time"),
        "apscheduler_jobs",
        ["next_run_time"],
        unique=False,
    )
    op.create_table(
        "daily_rollups",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("agent", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("turns", sa.Integer(), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("wins", sa.Integer(), nullable=False),
        sa.Column("losses", sa.Integer(), nullable=False),
        sa.Column("ties", sa.Integer(), nullable=False),
        sa.Column("unsupported", sa.Integer(), nullable=False),
        sa.Column("consensus_sum", sa.Float(), nullable=False),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("thumbs_up", sa.Integer(), nullable=False),
        sa.Column("thumbs_down", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_rollups")),
        sa.UniqueConstraint(
            "day", "tenant", "agent", "role", "provider", "model", name=op.f("uq_daily_rollups_day")
        ),
    )
    op.create_index(op.f("ix_daily_rollups_day"), "daily_rollups", ["day"], unique=False)
    op.create_table(
        "dialogue_runs",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("run_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("owner", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("groups", sa.Integer(), nullable=False),
        sa.Column("lessons_proposed", sa.Integer(), nullable=False),
        sa.Column("stats", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status in ('running', 'succeeded', 'failed', 'skipped')",
            name=op.f("ck_dialogue_runs_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dialogue_runs")),
        sa.UniqueConstraint("tenant", "run_date", name=op.f("uq_dialogue_runs_tenant")),
    )
    op.add_column("lessons", sa.Column("evidence_chunk_id", sa.BigInteger(), nullable=True))
    op.add_column("lessons", sa.Column("error_kind", sa.String(length=32), nullable=True))
    op.add_column(
        "lessons",
        sa.Column(
            "match_terms",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )
    op.add_column(
        "lessons",
        sa.Column("case_count", sa.Integer(), server_default=sa.text("1"), nullable=False),
    )
    op.add_column(
        "lessons", sa.Column("embedding", pgvector.sqlalchemy.vector.VECTOR(dim=384), nullable=True)
    )
    op.add_column("lessons", sa.Column("run_id", sa.BigInteger(), nullable=True))
    op.add_column("lessons", sa.Column("original_instruction", sa.Text(), nullable=True))
    op.add_column("lessons", sa.Column("review_note", sa.Text(), nullable=True))
    op.create_index(op.f("ix_lessons_run_id"), "lessons", ["run_id"], unique=False)
    op.create_foreign_key(
        op.f("fk_lessons_evidence_chunk_id_knowledge_chunks"),
        "lessons",
        "knowledge_chunks",
        ["evidence_chunk_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_foreign_key(
        op.f("fk_lessons_run_id_dialogue_runs"),
        "lessons",
        "dialogue_runs",
        ["run_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_lessons_run_id_dialogue_runs"), "lessons", type_="foreignkey")
    op.drop_constraint(
        op.f("fk_lessons_evidence_chunk_id_knowledge_chunks"), "lessons", type_="foreignkey"
    )
    op.drop_index(op.f("ix_lessons_run_id"), table_name="lessons")
    op.drop_column("lessons", "review_note")
    op.drop_column("lessons", "original_instruction")
    op.drop_column("lessons", "run_id")
    op.drop_column("lessons", "embedding")
    op.drop_column("lessons", "case_count")
    op.drop_column("lessons", "match_terms")
    op.drop_column("lessons", "error_kind")
    op.drop_column("lessons", "evidence_chunk_id")
    op.drop_table("dialogue_runs")
    op.drop_index(op.f("ix_daily_rollups_day"), table_name="daily_rollups")
    op.drop_table("daily_rollups")
    op.drop_index(op.f("ix_apscheduler_jobs_next_run_time"), table_name="apscheduler_jobs")
    op.drop_table("apscheduler_jobs")
