"""The OpenTelemetry trace id of the turn on its rows: both messages, the training signal and
the escalation, so a case or a signal opens the same turn in Jaeger, Phoenix or Langfuse.

Null when tracing is off (OTEL_EXPORTER_OTLP_ENDPOINT unset) and on rows written before.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("messages", "training_signals", "escalations")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("trace_id", sa.String(length=32), nullable=True))
    op.create_index(op.f("ix_messages_trace_id"), "messages", ["trace_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_messages_trace_id"), table_name="messages")
    for table in reversed(TABLES):
        op.drop_column(table, "trace_id")
