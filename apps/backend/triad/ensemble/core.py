"""LLMEnsemble: teacher and student answer in parallel, the critic decides what is sent.

The ensemble knows nothing about the database: retrieval comes in as a callable and the
result goes out as a value the chat service records in one transaction.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from triad.agents.extract import extract_quote_request
from triad.agents.prompts import load_template
from triad.agents.quote import Quote, compute_quote
from triad.agents.rules import BusinessRules
from triad.ensemble.config import EnsembleConfig, RoleConfig
from triad.ensemble.critic.models import CriticResult
from triad.ensemble.decision import Decision, decide
from triad.errors import InputError, TriadError
from triad.experiments.arms import Assignment
from triad.knowledge.retrieval import Passage
from triad.observability import genai
from triad.providers.base import (
    ChatMessage,
    Completion,
    CompletionRequest,
    ContextPassage,
    Provider,
)
from triad.routing.router import RoutedProvider, attempts_of
from triad.routing.types import AttemptRecord, RouteKey

Retriever = Callable[[str, Sequence[str]], Awaitable[tuple[list[Passage], int]]]
ProviderFactory = Callable[[str, RouteKey], Provider]
"""(the role's configured model id, what the call is for) -> a model, usually a bound route."""
CostFn = Callable[[str, int | None, int | None], float]


class Critic(Protocol):
    """What the ensemble needs of a critic (the grounded critic, optionally with a judge)."""

    async def aevaluate(
        self,
        question: str,
        answers: dict[str, str],
        evidence: Sequence[str],
        facts: Sequence[str] = (),
    ) -> CriticResult: ...


@dataclass
class TurnContext:
    """What the ensemble gets besides the question: history, retrieval and lessons."""

    retriever: Retriever
    history: list[ChatMessage] = field(default_factory=list)
    lessons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Verdicts of deterministic tools (e.g. the booking validator) the customer must hear."""
    experiment: Assignment | None = None
    """The experiment arm of this turn: its models and prompt version replace the configured."""


@dataclass
class RoleOutcome:
    """One role's attempt: the completion, or the typed error that stopped it."""

    role: str
    model_id: str
    completion: Completion | None = None
    error_type: str | None = None
    error: str | None = None
    latency_ms: float = 0.0
    cost_usd: float = 0.0
    attempts: list[AttemptRecord] = field(default_factory=list)
    """The router's attempts (empty when the factory gave a plain provider)."""
    degraded: bool = False

    @property
    def ok(self) -> bool:
        return self.completion is not None and bool(self.completion.text.strip())


@dataclass
class EnsembleResult:
    """Everything one turn produced; the chat service stores it and sends `reply`."""

    agent: str
    prompt: str
    reply: str
    decision: Decision
    winner: str | None
    critic: CriticResult | None
    outcomes: list[RoleOutcome]
    passages: list[Passage]
    knowledge_version: int
    prompt_version: str
    facts: list[str]
    quote: Quote | None
    escalation_reason: str | None
    degraded: bool = False
    """The reply's answer came from a lower tier than its role's model (a disclaimer is added)."""
    experiment: Assignment | None = None

    @property
    def escalate(self) -> bool:
        return self.decision != "send"


class LLMEnsemble:
    """Never trust a single model: two answers, one grounded critic, a decision."""

    def __init__(
        self,
        *,
        config: EnsembleConfig,
        rules: BusinessRules,
        critic: Critic,
        provider_factory: ProviderFactory,
        critic_for: Callable[[str], Critic] | None = None,
        cost: CostFn | None = None,
        profile: str | None = None,
        disclaimer: str | None = None,
    ) -> None:
        self.config = config
        self.rules = rules
        self.critic = critic
        self._critic_for = critic_for
        self._provider_factory = provider_factory
        self._cost = cost
        self._profile = profile
        self.disclaimer = disclaimer

    async def _answer(
        self, role: str, spec: RoleConfig, request: CompletionRequest, key: RouteKey
    ) -> RoleOutcome:
        with genai.chat(role, spec.model, request) as span:
            outcome = await self._call_role(role, spec, request, key)
            genai.record_outcome(span, outcome, request)
        return outcome

    async def _call_role(
        self, role: str, spec: RoleConfig, request: CompletionRequest, key: RouteKey
    ) -> RoleOutcome:
        outcome = RoleOutcome(role=role, model_id=spec.model)
        started = time.perf_counter()
        try:
            provider = self._provider_factory(spec.model, key)
            if isinstance(provider, RoutedProvider):  # the router keeps the role's deadline
                routed = await provider.route(request, deadline_s=spec.timeout_s)
                outcome.completion, outcome.model_id = routed.completion, routed.model_id
                outcome.attempts, outcome.degraded = routed.attempts, routed.degraded
            else:
                outcome.completion = await asyncio.wait_for(
                    provider.complete(request), timeout=spec.timeout_s
                )
        except TimeoutError:
            outcome.error_type, outcome.error = (
                "ProviderTimeoutError",
                f"no answer in {spec.timeout_s}s",
            )
        except TriadError as exc:
            outcome.error_type, outcome.error = type(exc).__name__, str(exc)
            outcome.attempts = attempts_of(exc)
        outcome.latency_ms = (time.perf_counter() - started) * 1000
        done = outcome.completion
        if outcome.attempts:
            outcome.cost_usd = sum(a.cost_usd for a in outcome.attempts)
        elif done is not None and self._cost is not None:
            outcome.cost_usd = self._cost(spec.model, done.input_tokens, done.output_tokens)
        return outcome

    def _quote(self, prompt: str, history: Sequence[ChatMessage]) -> Quote | None:
        said = " ".join([m.content for m in history if m.role == "user"] + [prompt])
        request = extract_quote_request(said, self.rules)
        if request is None:
            return None
        try:
            return compute_quote(request, self.rules)
        except (InputError, ValueError):
            return None

    async def generate_with_consensus(
        self, prompt: str, context: TurnContext, agent_name: str, user_id: str | None = None
    ) -> EnsembleResult:
        """Answer `prompt` as `agent_name`; never raises for a provider failure."""
        if agent_name not in self.rules.agents:
            raise InputError(f"unknown agent '{agent_name}'; known: {sorted(self.rules.agents)}")
        spec = self.rules.agents[agent_name]
        passages, knowledge_version = await context.retriever(prompt, spec.sources)
        quote = self._quote(prompt, context.history)
        tool_facts = (quote.facts() if quote else []) + context.notes
        facts = self.rules.facts() + tool_facts
        arm = context.experiment.choice if context.experiment else None
        template = load_template(agent_name, arm.prompt_version if arm else None)
        system = template.render(
            business_name=self.rules.business.name,
            facts=tool_facts,
            passages=[f"[{p.heading_path}]\n{p.text}" for p in passages],
            lessons=context.lessons,
        )
        messages = [ChatMessage(role="system", content=system), *context.history]
        messages.append(ChatMessage(role="user", content=prompt))
        teacher, student = self.config.roles_for(agent_name, self._profile)
        if arm is not None:
            teacher, student = arm.roles(teacher, student)
        contexts = [p.to_context() for p in passages]
        if tool_facts:
            computed = ContextPassage(text="\n".join(tool_facts), heading_path="Computed for you")
            contexts.insert(0, computed)

        def request(role: RoleConfig) -> CompletionRequest:
            return CompletionRequest(
                messages=messages,
                max_tokens=role.max_tokens,
                temperature=role.temperature,
                timeout_s=role.timeout_s,
                stop=role.stop,
                context=contexts,
            )

        prompt_version = template.version_id(context.lessons)

        def key(role: str) -> RouteKey:
            return RouteKey(
                task_type=f"chat.{agent_name}",
                agent=agent_name,
                role=role,
                user_id=user_id,
                prompt_version=prompt_version,
                knowledge_version=knowledge_version,
            )

        outcomes = list(
            await asyncio.gather(
                self._answer("teacher", teacher, request(teacher), key("teacher")),
                self._answer("student", student, request(student), key("student")),
            )
        )
        answers = {o.role: o.completion.text.strip() for o in outcomes if o.ok and o.completion}
        evidence = [p.text for p in passages]
        judge = self._critic_for(agent_name) if self._critic_for else self.critic
        critic = None
        if answers:
            with genai.critic() as span:
                critic = await judge.aevaluate(prompt, answers, evidence, facts)
                genai.record_critic(span, critic, answers)
        decided = decide(
            answers,
            critic,
            threshold=self.config.consensus_threshold,
            holding_reply=self.config.holding_reply,
        )
        reply, decision, winner, reason = (
            decided.reply,
            decided.decision,
            decided.winner,
            decided.reason,
        )
        if notes := unsaid(context.notes, reply):
            reply = f"{reply}\n\n{' '.join(notes)}"
        chosen = next((o for o in outcomes if o.role == winner), None)
        degraded = decision != "hold_and_escalate" and chosen is not None and chosen.degraded
        if degraded and self.disclaimer:
            reply = f"{reply}\n\n{self.disclaimer}"
        return EnsembleResult(
            agent=agent_name,
            prompt=prompt,
            reply=reply,
            decision=decision,
            winner=winner,
            critic=critic,
            outcomes=outcomes,
            passages=passages,
            knowledge_version=knowledge_version,
            prompt_version=prompt_version,
            facts=facts,
            quote=quote,
            escalation_reason=reason,
            degraded=degraded,
            experiment=context.experiment,
        )


_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORDS = re.compile(r"[a-z0-9$%:.]+")


def _words(text: str) -> set[str]:
    return {w.strip(".:") for w in _WORDS.findall(text.lower())} - {""}


def unsaid(notes: Sequence[str], reply: str) -> list[str]:
    """The sentences of the booking notes the reply does not already say: a note sentence every
    word of which is in the reply adds nothing but a repetition."""
    said = _words(reply)
    out: list[str] = []
    for note in notes:
        kept = [s for s in _SENTENCE.split(note.strip()) if s and not _words(s) <= said]
        said |= {w for s in kept for w in _words(s)}
        if kept:
            out.append(" ".join(kept))
    return out
