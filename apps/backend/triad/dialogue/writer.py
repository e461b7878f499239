"""Writing one lesson for one group of cases: deterministically, or with the critic's model.

The deterministic writer needs no model: it names the distinctive words of the wrong claim
(the ones rarest in the tenant's knowledge), and pairs them with the right answer (staff's
reply or the clean winner's text) or, failing that, the knowledge sentence that mentions
them. The LLM writer asks a model for the same lesson as strict JSON and falls back to the
deterministic one when the reply is unusable, so a night never fails for a model's sake.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from triad.analytics.pii import Scrubber
from triad.dialogue.cases import Case
from triad.dialogue.grouping import CaseGroup
from triad.ensemble.critic.text import (
    NEGATION_CUES,
    STOPWORDS,
    sentence_spans,
    tokens,
    words_of,
)
from triad.errors import ProviderError
from triad.providers.base import ChatMessage, CompletionRequest, Provider

log = logging.getLogger(__name__)

MAX_TERMS = 3
MAX_TERM_DF = 3
_JSON_RE = re.compile(r"\{.*\}", re.DOTALL)
_GENERIC = words_of(
    """
    serve serves served offer offers offered provide provides include includes included
    available extra plate plates guest guests price prices cost costs charge
    """
)


@dataclass(frozen=True)
class Evidence:
    """The knowledge passage that shows the right fact."""

    chunk_id: int | None
    text: str
    heading: str = ""


@dataclass(frozen=True)
class LessonDraft:
    """What a writer produces; the job adds evidence ids, embedding and run."""

    title: str
    instruction: str
    written_by: str


def content_terms(text: str) -> list[str]:
    """Lower-cased content words of `text`, in order, each once."""
    seen: dict[str, None] = {}
    for token in tokens(text):
        word = token.lower
        if len(word) > 2 and word not in STOPWORDS and word not in NEGATION_CUES:
            seen.setdefault(word, None)
    return list(seen)


def distinctive_terms(claim: str, document_frequency: Mapping[str, int]) -> list[str]:
    """The claim's words rarest in the knowledge base (at most 3, in claim order).

    A word the knowledge never or hardly mentions is what the claim is really about
    ("wagyu" in "we serve wagyu beef for $20 extra"); common words are left out.
    """
    words = [w for w in content_terms(claim) if w not in _GENERIC]
    if not words:
        return []
    rarest = min(document_frequency.get(w, 0) for w in words)
    keep = [
        w
        for w in words
        if document_frequency.get(w, 0) <= min(rarest + 1, MAX_TERM_DF)
        or document_frequency.get(w, 0) == rarest
    ]
    return keep[:MAX_TERMS]


def _mentions(sentence: str, terms: Sequence[str]) -> int:
    lowered = {t.lower for t in tokens(sentence)}
    return sum(1 for t in terms if t in lowered)


def evidence_sentence(evidence: Evidence | None, terms: Sequence[str]) -> str | None:
    """The sentence of the passage that mentions the most of `terms`, or None."""
    if evidence is None or not terms:
        return None
    best: tuple[int, str] | None = None
    for start, end in sentence_spans(evidence.text):
        sentence = evidence.text[start:end].strip()
        hits = _mentions(sentence, terms)
        if hits and (best is None or hits > best[0]):
            best = (hits, sentence)
    return best[1] if best else None


def _denied(sentence: str | None) -> bool:
    return sentence is not None and any(t.lower in NEGATION_CUES for t in tokens(sentence))


def _clip(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def scrubbed(group: CaseGroup) -> CaseGroup:
    """`group` with the customers' personal data replaced by placeholders.

    A lesson goes into every later prompt, so names, phones, emails and addresses of the
    questions, claims and staff replies must not reach it. Names are learned from the
    questions and replies of the whole group and replaced in every text of it.
    """
    clean = Scrubber([t for c in group.cases for t in (c.question, c.right_answer or "")])

    def one(case: Case) -> Case:
        right = clean(case.right_answer) if case.right_answer else case.right_answer
        return replace(
            case, question=clean(case.question), claim=clean(case.claim), right_answer=right
        )

    cases = [one(c) for c in group.cases]
    centre = next((i for i, c in enumerate(group.cases) if c is group.representative), None)
    representative = one(group.representative) if centre is None else cases[centre]
    return CaseGroup(agent=group.agent, cases=cases, representative=representative)


def deterministic_lesson(
    group: CaseGroup, terms: Sequence[str], evidence: Evidence | None
) -> LessonDraft:
    """A lesson from the wrong claim, the right answer and the contradicting passage."""
    group = scrubbed(group)
    case = group.representative
    subject = " ".join(terms)
    sentence = evidence_sentence(evidence, terms)
    right = case.right_answer or next((c.right_answer for c in group.cases if c.right_answer), None)
    fact = _clip(right or sentence or (evidence.text if evidence else ""))
    if case.kind in ("escalation", "negative_feedback") and not case.claim:
        head = f'When asked "{_clip(case.question, 120)}"'
        instruction = f"{head}, answer: {fact}" if fact else f"{head}, hand over to staff."
        return LessonDraft(
            f"{group.agent}: {_clip(case.question, 60)}", instruction, "deterministic"
        )
    if subject and _denied(sentence):
        instruction = f"Never offer {subject}: {fact}" if fact else f"Never offer {subject}."
        title = f"{group.agent}: never offer {subject}"
    else:
        wrong = _clip(case.claim, 160)
        instruction = f'Do not say "{wrong}": {fact}' if fact else f'Do not say "{wrong}".'
        title = f"{group.agent}: {subject or _clip(case.claim, 60)}"
    return LessonDraft(title, instruction, "deterministic")


class LessonWriter(Protocol):
    """Anything that turns a group of cases into a lesson draft."""

    async def write(
        self, group: CaseGroup, terms: Sequence[str], evidence: Evidence | None
    ) -> LessonDraft: ...


class DeterministicWriter:
    """The offline writer: no model call."""

    async def write(
        self, group: CaseGroup, terms: Sequence[str], evidence: Evidence | None
    ) -> LessonDraft:
        return deterministic_lesson(group, terms, evidence)


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: str = Field(min_length=1, max_length=200)
    instruction: str = Field(min_length=1, max_length=600)


SYSTEM = (
    "You write short corrective lessons for customer-support models of a business. A lesson is "
    "one imperative instruction the models will read before answering, grounded only in the "
    "evidence given. Reply with one JSON object and nothing else."
)


def lesson_request(group: CaseGroup, terms: Sequence[str], evidence: Evidence | None) -> str:
    """The user message that asks for a lesson about `group` (personal data scrubbed)."""
    group = scrubbed(group)
    case = group.representative
    examples = "\n".join(
        f"- question: {c.question!r}; {c.role or 'answer'} ({c.model or '?'}) said: {c.claim!r}"
        for c in group.cases[:5]
    )
    right = case.right_answer or "(unknown)"
    passage = evidence.text if evidence else "(none found)"
    return (
        f"Agent: {group.agent}\nMistake kind: {case.kind}\nCases:\n{examples}\n"
        f"Distinctive words of the wrong claim: {', '.join(terms) or '(none)'}\n"
        f"Right answer: {right}\nKnowledge passage:\n{passage}\n\n"
        'Return {"title": "<short title>", "instruction": "<one sentence: what never to say '
        'and the right fact, e.g. Never offer X: the menu lists A, B, C>"}'
    )


def parse_lesson(text: str) -> _Reply:
    """The model's reply as a validated lesson, or ValueError."""
    match = _JSON_RE.search(text)
    if match is None:
        raise ValueError("the reply holds no JSON object")
    try:
        return _Reply.model_validate(json.loads(match.group(0)))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise ValueError(f"the reply is not a valid lesson: {exc}") from exc


class LLMWriter:
    """Asks the critic's model for the lesson; falls back to the deterministic writer."""

    def __init__(self, provider: Provider, *, model_id: str, timeout_s: float = 60.0) -> None:
        self.provider = provider
        self.model_id = model_id
        self.timeout_s = timeout_s

    async def write(
        self, group: CaseGroup, terms: Sequence[str], evidence: Evidence | None
    ) -> LessonDraft:
        request = CompletionRequest(
            messages=[
                ChatMessage(role="system", content=SYSTEM),
                ChatMessage(role="user", content=lesson_request(group, terms, evidence)),
            ],
            max_tokens=300,
            temperature=0.0,
            timeout_s=self.timeout_s,
        )
        try:
            reply = parse_lesson((await self.provider.complete(request)).text)
        except (ProviderError, ValueError) as exc:
            log.warning(
                "lesson writer %s not used (%s); deterministic lesson kept", self.model_id, exc
            )
            return deterministic_lesson(group, terms, evidence)
        return LessonDraft(reply.title.strip(), reply.instruction.strip(), f"llm:{self.model_id}")
