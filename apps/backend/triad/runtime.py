"""Everything a running Triad holds: registry, rules, critic, ensemble, selector, router.

Built once per process from settings; the API keeps one in `app.state`, the CLI builds its own.
There is one `Router` per process, so breakers and health are shared by `/llm/complete` and
the ensemble's roles.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from triad.agents.rules import BusinessRules, load_rules
from triad.agents.selector import AgentSelector
from triad.dialogue.config import dialogue_config
from triad.ensemble.config import EnsembleConfig
from triad.ensemble.core import Critic, LLMEnsemble
from triad.ensemble.critic import GroundedCritic, LLMJudge
from triad.errors import InputError, MissingCredentialError
from triad.knowledge.embedding import TextEmbedder
from triad.providers.base import Provider
from triad.providers.registry import ModelRegistry
from triad.routing.config import RoutingConfig
from triad.routing.guards import Guards
from triad.routing.router import Router
from triad.routing.turn_cache import TurnCache
from triad.routing.types import BudgetGuard, ResponseCache, RouteKey
from triad.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The long-lived objects of one process; providers are built once per model id."""

    settings: Settings
    registry: ModelRegistry
    rules: BusinessRules
    config: EnsembleConfig
    critic: GroundedCritic
    selector: AgentSelector
    routing: RoutingConfig
    budget: BudgetGuard | None = None
    cache: ResponseCache | None = None
    turn_cache: TurnCache | None = None
    prompt_lessons: int = 5
    """How many approved lessons one prompt carries (`max_prompt_lessons` in dialogue.yaml)."""
    router: Router = field(init=False)
    ensemble: LLMEnsemble = field(init=False)
    _providers: dict[str, Provider] = field(default_factory=dict)
    _judges: dict[str, Critic] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.router = Router(
            self.routing, self.registry, self.provider, budget=self.budget, cache=self.cache
        )
        self.ensemble = LLMEnsemble(
            config=self.config,
            rules=self.rules,
            critic=self.critic,
            provider_factory=self.role_provider,
            critic_for=self.critic_for,
            cost=self.cost,
            profile=self.settings.ensemble_profile,
            disclaimer=self.routing.degraded_disclaimer,
        )

    def attach_guards(self, guards: Guards) -> None:
        """Budgets and caches need the database, so the app attaches them once it has one."""
        self.budget = self.router.budget = guards.budget
        self.cache = self.router.cache = guards.completions
        self.turn_cache = guards.turns

    def role_provider(self, model_id: str, key: RouteKey) -> Provider:
        """An ensemble role's model as a route: `model_id` first, then the route's fallbacks,
        never the other role's model (two answers from one model would agree trivially)."""
        key = replace(key, priority=self.routing.priority_for(key.role, key.priority))
        exclude: set[str] = set()
        if key.agent is not None and key.role in ("teacher", "student"):
            teacher, student = self.config.roles_for(key.agent, self.settings.ensemble_profile)
            other = student.model if key.role == "teacher" else teacher.model
            exclude = {other} - {model_id}
        return self.router.bind(key, first=model_id, exclude=exclude)

    def provider(self, model_id: str) -> Provider:
        """The adapter for a registry id, built on first use (keys are read then)."""
        if model_id not in self._providers:
            self._providers[model_id] = self.registry.build(model_id)
        return self._providers[model_id]

    def critic_for(self, agent: str) -> Critic:
        """The grounded critic, with the profile's LLM judge on top when one is configured.

        A judge whose key is missing is skipped with a warning: the grounded checks still run.
        """
        model_id = self.config.judge_for(agent, self.settings.ensemble_profile)
        if model_id is None:
            return self.critic
        if model_id not in self._judges:
            try:
                self._judges[model_id] = LLMJudge(self.provider(model_id), self.critic)
            except MissingCredentialError as exc:
                log.warning("LLM judge %s disabled: %s", model_id, exc)
                self._judges[model_id] = self.critic
        return self._judges[model_id]

    def use_provider(self, model_id: str, provider: Provider) -> None:
        """Serve `model_id` with an adapter built elsewhere (tests, custom clients)."""
        self.registry.get(model_id)
        self._providers[model_id] = provider

    def cost(self, model_id: str, input_tokens: int | None, output_tokens: int | None) -> float:
        return self.registry.get(model_id).cost_usd(input_tokens, output_tokens)

    def check_agent(self, agent: str) -> None:
        if agent not in self.rules.agents:
            raise InputError(
                f"unknown agent '{agent}'; known: {', '.join(sorted(self.rules.agents))}"
            )

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
        self._providers.clear()


def build_runtime(settings: Settings, embedder: TextEmbedder) -> Runtime:
    """Read every config file once; a mistake surfaces here as a ConfigurationError."""
    registry = ModelRegistry.from_yaml(settings.models_config, embed=embedder.embed)
    config = EnsembleConfig.from_yaml(settings.ensemble_config)
    routing = RoutingConfig.from_yaml(settings.routing_config)
    profile = config.active(settings.ensemble_profile)
    named = {profile.teacher.model, profile.student.model, *routing.model_ids()}
    named |= {j for j in [profile.judge, *(a.judge for a in profile.agents.values())] if j}
    named |= {r.model for a in profile.agents.values() for r in (a.teacher, a.student) if r}
    for model_id in sorted(named):
        registry.get(model_id)  # UnknownModelError names it and lists the known ids
    rules = load_rules(settings.tenant_dir)
    lessons = dialogue_config(settings).max_prompt_lessons
    return Runtime(
        settings=settings,
        registry=registry,
        rules=rules,
        config=config,
        critic=GroundedCritic(embed=embedder.embed),
        selector=AgentSelector(rules.agents, embed=embedder.embed),
        routing=routing,
        prompt_lessons=lessons,
    )
