"""The critic's thresholds and its verdicts, as validated models the API and database store."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ClaimStatus = Literal["supported", "unsupported", "contradicted", "unverifiable"]


class CriticConfig(BaseModel):
    """Thresholds of the grounded checks; defaults were tuned on half of each dev file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    semantic_support: float = Field(
        default=0.62, ge=0, le=1, description="cosine a claim with no typed facts needs"
    )
    novel_semantic_support: float = Field(
        default=0.90, ge=0, le=1, description="cosine that excuses a word absent from evidence"
    )
    semantic_excuse_words: int = Field(
        default=1, ge=0, description="novel plain words a near-verbatim paraphrase may add"
    )
    semantic_mode: Literal["needed", "always"] = Field(
        default="needed",
        description="embed only claims the lexical checks cannot settle, or every claim and "
        "both answers (semantic agreement); 'always' costs one model call per evaluation",
    )
    lexical_support: float = Field(
        default=2 / 3, ge=0, le=1, description="share of a claim's words one sentence must hold"
    )
    novel_tolerance: int = Field(
        default=0, ge=0, description="novel content words any claim may add"
    )
    anchored_novel_tolerance: int = Field(
        default=2,
        ge=0,
        description="extra novel words a claim with verified evidence facts may add",
    )
    relevance_weight: float = Field(
        default=0.5, ge=0, le=1, description="share of a supported claim's score from relevance"
    )
    rare_df: int = Field(
        default=3, ge=1, description="an evidence word in at most this many sentences is rare"
    )
    agreement_weight: float = Field(
        default=0.4, ge=0, le=1, description="share of consensus that is answer agreement"
    )
    fact_agreement_weight: float = Field(
        default=0.5, ge=0, le=1, description="share of agreement that is typed-fact overlap"
    )
    cache_size: int = Field(default=8192, ge=0, description="embeddings kept, by text")


class ClaimVerdict(BaseModel):
    """One claim of an answer and what the evidence says about it."""

    model_config = ConfigDict(frozen=True)

    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    status: ClaimStatus
    reason: str
    evidence: str = ""
    support: float = Field(default=0.0, ge=0, le=1)

    @property
    def failed(self) -> bool:
        return self.status in ("unsupported", "contradicted")


class AnswerVerdict(BaseModel):
    """The critic's view of one answer: a 0..1 score and every claim's verdict."""

    score: float = Field(ge=0, le=1)
    claims: list[ClaimVerdict]
    unsupported_claims: list[ClaimVerdict]

    @property
    def clean(self) -> bool:
        return not self.unsupported_claims


class CriticResult(BaseModel):
    """Verdicts by role, the winner, how much the answers agree and how far to trust them."""

    verdicts: dict[str, AnswerVerdict]
    winner: str | None
    consensus: float = Field(ge=0, le=1)
    agreement: float = Field(ge=0, le=1)
    rationale: str
    latency_ms: float = Field(ge=0)
    judged_by: list[str] = Field(default_factory=lambda: ["grounded"])
