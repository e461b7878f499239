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
    fact_agreement_weight: float = Field(
        default=0.5, ge=0, le=1, description="share of agreement that is typed-fact overlap"
    )
    cache_size: int = Field(default=8192, ge=0, description="embeddings kept, by text")
    verifier: bool = Field(
        default=False,
        description="ask the learned verifier (a MiniLM cross-encoder) about claims the rules "
        "can only call unsupported for their wording; numbers, money, lists and denials stay "
        "with the rules",
    )
    verifier_support: float = Field(
        default=0.9, ge=0, le=1, description="verifier probability that makes such a claim pass"
    )
    verifier_veto: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="verifier probability below which a supported claim stating a value or "
        "a name fails (0: the verifier never overrules a pass; each such claim costs a call)",
    )
    verifier_candidates: int = Field(
        default=4, ge=1, description="evidence sentences (most shared words) the verifier reads"
    )


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
    material: bool = True
    """False for what states nothing about the business: a courtesy, a question back, a hedge
    or an abstention ("I don't have that information"). Only material claims need support."""

    @property
    def failed(self) -> bool:
        return self.status in ("unsupported", "contradicted")

    @property
    def uncovered(self) -> bool:
        """A material claim the evidence neither supports nor contradicts: not deliverable."""
        return self.material and self.status == "unverifiable"


class AnswerVerdict(BaseModel):
    """The critic's view of one answer: a 0..1 score and every claim's verdict."""

    score: float = Field(ge=0, le=1)
    claims: list[ClaimVerdict]
    unsupported_claims: list[ClaimVerdict]
    addresses: float = Field(default=0.0, ge=0, le=1)
    """How completely the answer addresses the question (0: not at all, 1: fully)."""
    abstains: bool = False
    """The answer says it cannot answer (nothing in the knowledge base covers the question)."""
    repeated: int = Field(default=0, ge=0)
    """Claims that repeat an earlier claim of the same answer."""

    @property
    def clean(self) -> bool:
        return not self.unsupported_claims

    @property
    def deliverable(self) -> bool:
        """Every material claim supported, at least one of them, nothing repeated, no
        abstention: the only kind of answer a customer may receive without staff."""
        material = [c for c in self.claims if c.material]
        return (
            not self.unsupported_claims
            and not self.abstains
            and self.repeated == 0
            and bool(material)
            and all(c.status == "supported" for c in material)
        )


class CriticResult(BaseModel):
    """Verdicts by role, the winner, how much the answers agree and how far to trust them."""

    verdicts: dict[str, AnswerVerdict]
    winner: str | None
    consensus: float = Field(ge=0, le=1)
    agreement: float | None = Field(default=None, ge=0, le=1)
    """Meaning and fact overlap of the answers; None when only one answer was judged."""
    rationale: str
    latency_ms: float = Field(ge=0)
    judged_by: list[str] = Field(default_factory=lambda: ["grounded"])

    @property
    def single_answer(self) -> bool:
        """Only one model answered (the other failed): nothing corroborates the reply."""
        return len(self.verdicts) < 2
