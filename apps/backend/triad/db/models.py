"""SQLAlchemy 2 models of the whole schema; Alembic migrations in `migrations/` create it.

The models describe the tables for queries; they never create them (no `create_all`).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any, ClassVar

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    Time,
    Unicode,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

EMBEDDING_DIM = 384

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with stable constraint names, so migrations can refer to them."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSONB, list[Any]: JSONB}


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


# --- knowledge -------------------------------------------------------------------------------


class KnowledgeDocument(Base):
    """One source file of a tenant's knowledge base, with the hash that makes ingest idempotent."""

    __tablename__ = "knowledge_documents"
    __table_args__ = (UniqueConstraint("tenant", "source"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()

    chunks: Mapped[list[KnowledgeChunk]] = relationship(
        back_populates="document", cascade="all, delete-orphan", passive_deletes=True
    )


class KnowledgeChunk(Base):
    """A retrievable passage: text, heading path, embedding and a generated full-text vector."""

    __tablename__ = "knowledge_chunks"
    __table_args__ = (
        Index(
            "ix_knowledge_chunks_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
        Index("ix_knowledge_chunks_tsv", "tsv", postgresql_using="gin"),
        Index("ix_knowledge_chunks_tenant", "tenant"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("knowledge_documents.id", ondelete="CASCADE"), index=True
    )
    tenant: Mapped[str] = mapped_column(Text)
    ordinal: Mapped[int] = mapped_column(Integer)
    heading_path: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text)
    char_start: Mapped[int] = mapped_column(Integer)
    char_end: Mapped[int] = mapped_column(Integer)
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIM))
    tsv: Mapped[Any] = mapped_column(
        TSVECTOR,
        Computed(
            "to_tsvector('english', coalesce(heading_path, '') || ' ' || content)", persisted=True
        ),
    )
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)

    document: Mapped[KnowledgeDocument] = relationship(back_populates="chunks")


class KnowledgeVersion(Base):
    """One row per change of a tenant's knowledge; the current version is the highest."""

    __tablename__ = "knowledge_versions"
    __table_args__ = (UniqueConstraint("tenant", "version"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = _now()


# --- people ----------------------------------------------------------------------------------


class User(Base):
    """A staff member or admin; customers are anonymous sessions, not users."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role in ('staff', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    email: Mapped[str] = mapped_column(Text, unique=True)
    display_name: Mapped[str] = mapped_column(Text, default="")
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _now()


class UserSession(Base):
    """A signed-in browser: the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()
    last_seen_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A bearer token for the JSON APIs, acting as its user; stored only as a SHA-256."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text, default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = _now()
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiKey(Base):
    """A key for the machine APIs (`/v1`, `/llm/complete`), stored only as a SHA-256.

    `allowed_models` null means every model; `budget_usd` is spent over the last `budget_days`
    days (null: ever); `rpm_limit` is requests per sliding minute (null: no limit).
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    allowed_models: Mapped[list[Any] | None] = mapped_column()
    budget_usd: Mapped[float | None] = mapped_column(Float)
    budget_days: Mapped[int | None] = mapped_column(Integer)
    rpm_limit: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RateLimit(Base):
    """One sliding window (sign-ins per address, sessions per address, calls per key): the
    times of the hits still inside it, so every replica counts the same requests."""

    __tablename__ = "rate_limits"

    bucket: Mapped[str] = mapped_column(Text, primary_key=True)
    hits: Mapped[list[datetime]] = mapped_column(ARRAY(DateTime(timezone=True)), default=list)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


# --- experiments -----------------------------------------------------------------------------


class Experiment(Base):
    """An A/B test or canary over an agent (or a `/llm/complete` task type).

    `arms` is the list of arms (name, share in basis points, model and prompt choices);
    `canary` holds the ramp settings and its current step. Defined in config, synced here.
    """

    __tablename__ = "experiments"
    __table_args__ = (
        CheckConstraint(
            "status in ('draft', 'running', 'paused', 'stopped', 'rolled_back')", name="status"
        ),
        CheckConstraint("kind in ('ab', 'canary')", name="kind"),
        CheckConstraint("target_kind in ('agent', 'task_type')", name="target_kind"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))
    target_kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    status_reason: Mapped[str | None] = mapped_column(Text)
    salt: Mapped[str] = mapped_column(Text)
    arms: Mapped[list[Any]] = mapped_column(default=list)
    canary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class ExperimentEvent(Base):
    """Something that happened to an experiment: started, paused, ramped, rolled back, stopped."""

    __tablename__ = "experiment_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(
        ForeignKey("experiments.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _now()


# --- conversations ---------------------------------------------------------------------------


class Conversation(Base):
    """A customer chat session; the token that guards it is stored only as a hash."""

    __tablename__ = "conversations"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant: Mapped[str] = mapped_column(Text)
    agent: Mapped[str | None] = mapped_column(String(32))
    customer_ref: Mapped[str | None] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()

    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.id", passive_deletes=True
    )


class Message(Base):
    """One message in a conversation: from the customer, the assistant, or staff."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint("role in ('customer', 'assistant', 'staff', 'system')", name="role"),
        CheckConstraint("feedback is null or feedback in (-1, 1)", name="feedback"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    agent: Mapped[str | None] = mapped_column(String(32))
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    decision: Mapped[str | None] = mapped_column(String(32))
    degraded: Mapped[bool] = mapped_column(Boolean, default=False)
    feedback: Mapped[int | None] = mapped_column(Integer)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    experiment_id: Mapped[int | None] = mapped_column(
        ForeignKey("experiments.id", ondelete="SET NULL"), index=True
    )
    experiment_arm: Mapped[str | None] = mapped_column(String(64))
    trace_id: Mapped[str | None] = mapped_column(String(32), index=True)
    """The turn's OpenTelemetry trace (32 hex digits); null when tracing is off."""
    created_at: Mapped[datetime] = _now()

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class Candidate(Base):
    """One model's answer to one customer turn, with its accounting."""

    __tablename__ = "candidates"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    finish_reason: Mapped[str | None] = mapped_column(String(32))
    latency_ms: Mapped[float | None] = mapped_column(Float)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    score: Mapped[float | None] = mapped_column(Float)
    unsupported_claims: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = _now()


class CriticEvaluation(Base):
    """The critic's verdict on one turn: scores, winner, consensus and why."""

    __tablename__ = "critic_evaluations"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    winner_candidate_id: Mapped[int | None] = mapped_column(
        ForeignKey("candidates.id", ondelete="SET NULL")
    )
    consensus: Mapped[float] = mapped_column(Float)
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    claims: Mapped[list[Any]] = mapped_column(default=list)
    rationale: Mapped[str] = mapped_column(Text, default="")
    judge_model: Mapped[str | None] = mapped_column(Text)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = _now()


class TrainingSignal(Base):
    """Exactly one per answered turn: everything needed to learn from the decision later."""

    __tablename__ = "training_signals"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    tenant: Mapped[str] = mapped_column(Text)
    agent: Mapped[str] = mapped_column(String(32))
    prompt: Mapped[str] = mapped_column(Text)
    passage_ids: Mapped[list[Any]] = mapped_column(default=list)
    knowledge_version: Mapped[int] = mapped_column(Integer)
    prompt_version: Mapped[str] = mapped_column(Text)
    candidates: Mapped[list[Any]] = mapped_column(default=list)
    winner: Mapped[str | None] = mapped_column(Text)
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    consensus: Mapped[float] = mapped_column(Float)
    unsupported_claims: Mapped[list[Any]] = mapped_column(default=list)
    decision: Mapped[str] = mapped_column(String(32))
    gold_answer: Mapped[str | None] = mapped_column(Text)
    experiment_id: Mapped[int | None] = mapped_column(
        ForeignKey("experiments.id", ondelete="SET NULL"), index=True
    )
    experiment_arm: Mapped[str | None] = mapped_column(String(64))
    trace_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = _now()


class Escalation(Base):
    """A turn handed to staff; claiming it stops two people answering the same case."""

    __tablename__ = "escalations"
    __table_args__ = (
        CheckConstraint("status in ('open', 'claimed', 'resolved')", name="status"),
        Index("ix_escalations_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    agent: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    consensus: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="open")
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reply_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    trace_id: Mapped[str | None] = mapped_column(String(32))
    """The escalated turn's OpenTelemetry trace, shown on the case page."""
    created_at: Mapped[datetime] = _now()


class BookingRequest(Base):
    """What the booking agent understood from a conversation, checked against the rules.

    One open request per conversation, updated as the customer adds details; staff confirm it.
    """

    __tablename__ = "booking_requests"
    __table_args__ = (
        CheckConstraint(
            "status in ('needs_info', 'invalid', 'pending_staff', 'confirmed', 'declined')",
            name="status",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), unique=True
    )
    tenant: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    event_date: Mapped[date | None] = mapped_column(Date)
    start_time: Mapped[time | None] = mapped_column(Time)
    city: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    adults: Mapped[int | None] = mapped_column(Integer)
    children: Mapped[int | None] = mapped_column(Integer)
    proteins: Mapped[list[Any]] = mapped_column(default=list)
    violations: Mapped[list[Any]] = mapped_column(default=list)
    needs_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class DialogueRun(Base):
    """One night's LLMDialogue for one tenant: unique per date, so replicas run it once."""

    __tablename__ = "dialogue_runs"
    __table_args__ = (
        UniqueConstraint("tenant", "run_date"),
        CheckConstraint("status in ('running', 'succeeded', 'failed', 'skipped')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant: Mapped[str] = mapped_column(Text)
    run_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16), default="schedule")
    reason: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    cases: Mapped[int] = mapped_column(Integer, default=0)
    groups: Mapped[int] = mapped_column(Integer, default=0)
    lessons_proposed: Mapped[int] = mapped_column(Integer, default=0)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[datetime] = _now()
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Lesson(Base):
    """A correction learned from disagreements; admins approve it before models read it."""

    __tablename__ = "lessons"
    __table_args__ = (
        CheckConstraint("status in ('proposed', 'approved', 'rejected')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tenant: Mapped[str] = mapped_column(Text)
    agent: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    title: Mapped[str] = mapped_column(Text, default="")
    instruction: Mapped[str] = mapped_column(Text)
    erring_role: Mapped[str | None] = mapped_column(String(16))
    erring_model: Mapped[str | None] = mapped_column(Text)
    wrong_claim: Mapped[str | None] = mapped_column(Text)
    evidence_passage: Mapped[str | None] = mapped_column(Text)
    evidence_signal_ids: Mapped[list[Any]] = mapped_column(default=list)
    evidence_chunk_id: Mapped[int | None] = mapped_column(
        ForeignKey("knowledge_chunks.id", ondelete="SET NULL")
    )
    error_kind: Mapped[str | None] = mapped_column(String(32))
    match_terms: Mapped[list[Any]] = mapped_column(default=list)
    case_count: Mapped[int] = mapped_column(Integer, default=1)
    embedding: Mapped[Any | None] = mapped_column(Vector(EMBEDDING_DIM))
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("dialogue_runs.id", ondelete="SET NULL"), index=True
    )
    original_instruction: Mapped[str | None] = mapped_column(Text)
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _now()


class ProviderCall(Base):
    """Every call to a model: tokens, cost, latency, outcome and why the router chose it."""

    __tablename__ = "provider_calls"
    __table_args__ = (Index("ix_provider_calls_created", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), index=True
    )
    task_type: Mapped[str | None] = mapped_column(String(64))
    agent: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[str | None] = mapped_column(String(16))
    user_id: Mapped[str | None] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(Text)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    tokens_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(32))
    error_type: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(Text)
    experiment_id: Mapped[int | None] = mapped_column(
        ForeignKey("experiments.id", ondelete="SET NULL"), index=True
    )
    experiment_arm: Mapped[str | None] = mapped_column(String(64))
    api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), index=True
    )
    """The machine-API key the call was made for; null for chat turns and anonymous calls."""
    created_at: Mapped[datetime] = _now()


class DailyRollup(Base):
    """One day of one model in one role for one agent: the numbers win-rate charts are made of."""

    __tablename__ = "daily_rollups"
    __table_args__ = (UniqueConstraint("day", "tenant", "agent", "role", "provider", "model"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    tenant: Mapped[str] = mapped_column(Text)
    agent: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(Text)
    turns: Mapped[int] = mapped_column(Integer, default=0)
    answers: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    wins: Mapped[int] = mapped_column(Integer, default=0)
    losses: Mapped[int] = mapped_column(Integer, default=0)
    ties: Mapped[int] = mapped_column(Integer, default=0)
    unsupported: Mapped[int] = mapped_column(Integer, default=0)
    consensus_sum: Mapped[float] = mapped_column(Float, default=0.0)
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    thumbs_up: Mapped[int] = mapped_column(Integer, default=0)
    thumbs_down: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = _now()


class SchedulerJob(Base):
    """APScheduler's job store table, declared here so that Alembic, not the library, owns it.

    The shape is exactly what `apscheduler.jobstores.sqlalchemy.SQLAlchemyJobStore` (3.x) uses.
    """

    __tablename__ = "apscheduler_jobs"

    id: Mapped[str] = mapped_column(Unicode(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(Float(25), index=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)


class FeatureFlag(Base):
    """A switch admins flip at run time (e.g. `llm_dialogue`), with optional settings."""

    __tablename__ = "feature_flags"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = _now()


# --- cache -----------------------------------------------------------------------------------


class CacheEntry(Base):
    """A reusable answer (a routed completion or a checked turn), scoped so that an answer is
    never served after the prompt or the facts it was made from changed."""

    __tablename__ = "cache_entries"
    __table_args__ = (
        CheckConstraint("kind in ('completion', 'turn')", name="kind"),
        Index("ix_cache_entries_scope", "scope", "prompt_version", "knowledge_version"),
        Index("ix_cache_entries_expires", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    exact_key: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(64))
    tenant: Mapped[str | None] = mapped_column(Text)
    agent: Mapped[str | None] = mapped_column(String(32))
    task_type: Mapped[str | None] = mapped_column(String(64))
    prompt_version: Mapped[str] = mapped_column(Text, default="")
    knowledge_version: Mapped[int | None] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    numbers: Mapped[str] = mapped_column(Text, default="")
    embedding: Mapped[Any | None] = mapped_column(Vector(EMBEDDING_DIM))
    model_id: Mapped[str] = mapped_column(Text)
    response: Mapped[str] = mapped_column(Text)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CacheHit(Base):
    """One answer served from the cache instead of a model: what it saved, for cost reports."""

    __tablename__ = "cache_hits"
    __table_args__ = (
        CheckConstraint("kind in ('exact', 'semantic')", name="kind"),
        Index("ix_cache_hits_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("cache_entries.id", ondelete="SET NULL"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    similarity: Mapped[float | None] = mapped_column(Float)
    tenant: Mapped[str | None] = mapped_column(Text)
    agent: Mapped[str | None] = mapped_column(String(32))
    task_type: Mapped[str | None] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(Text)
    model: Mapped[str] = mapped_column(Text)
    saved_usd: Mapped[float] = mapped_column(Float, default=0.0)
    saved_tokens: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = _now()
