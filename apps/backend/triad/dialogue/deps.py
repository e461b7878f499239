"""Building the dialogue job's dependencies from a process's runtime."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from triad.dialogue.config import DialogueConfig, dialogue_config
from triad.dialogue.job import DialogueDeps
from triad.dialogue.writer import DeterministicWriter, LessonWriter, LLMWriter
from triad.errors import MissingCredentialError
from triad.knowledge.embedding import TextEmbedder
from triad.routing.budget import BudgetConfig
from triad.runtime import Runtime

log = logging.getLogger(__name__)


def lesson_writer(runtime: Runtime, config: DialogueConfig) -> LessonWriter:
    """The critic's model when one is configured (and has its key), else the offline writer."""
    model_id = config.critic
    if model_id == "judge":
        model_id = runtime.config.active(runtime.settings.ensemble_profile).judge
    if not model_id:
        return DeterministicWriter()
    try:
        return LLMWriter(runtime.provider(model_id), model_id=model_id)
    except MissingCredentialError as exc:
        log.warning("lesson writer %s disabled: %s; deterministic lessons instead", model_id, exc)
        return DeterministicWriter()


def build_deps(
    runtime: Runtime,
    engine: AsyncEngine,
    embedder: TextEmbedder,
    config: DialogueConfig | None = None,
) -> DialogueDeps:
    """Everything `run_dialogue` needs, from the process's runtime and engine."""
    config = config or dialogue_config(runtime.settings)
    return DialogueDeps(
        engine=engine,
        embedder=embedder,
        writer=lesson_writer(runtime, config),
        config=config,
        consensus_threshold=runtime.config.consensus_threshold,
        sources={name: list(spec.sources) for name, spec in runtime.rules.agents.items()},
        rollup_timezone=BudgetConfig.from_yaml(runtime.settings.budgets_config).timezone,
    )
