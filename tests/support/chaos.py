"""A flaky OpenAI-compatible provider on 127.0.0.1, and the config that points Triad at it.

`ChaosServer` answers `POST /v1/chat/completions`; a share (`fault_rate`) of the calls, drawn
from a seeded generator, fail in one of four ways at random: HTTP 500, HTTP 429 with
Retry-After, a hang (no answer at all), or a 200 whose body is not JSON. The other calls are
answered well: by default like the extractive teacher would, with sentences of the passages
the prompt carries, so the critic can check them and a turn's decision is a real one.

`chaos_settings` writes the model registry (the shipped one plus `chaos:teacher` and
`chaos:student` served by the server), a routing config with the shipped retry and breaker
rules (or the ones given) and no fallback, an ensemble profile with those two roles, the
caches off (a cached turn would skip the faults) and no experiment, and returns `Settings` that
read them. Used by the chaos and kill -9 tests and by `scripts/bench_chaos.py`.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.support.loopback import LoopbackServer, RecordedRequest, Reply
from triad.providers.base import ContextPassage
from triad.providers.extractive import NO_INFORMATION, ExtractiveProvider
from triad.settings import Settings

FAULTS = ("http_500", "http_429", "hang", "not_json")
TEACHER, STUDENT = "chaos:teacher", "chaos:student"
Answer = Callable[[Mapping[str, Any]], str]
"""What a well-behaved provider says to a request (its JSON body)."""

QUESTIONS = [  # a customer's questions about the demo tenant
    "How much do adults cost?",
    "What's the price for a 10 year old?",
    "Do babies eat free?",
    "Do you have vegan options?",
    "What proteins can we choose from?",
    "How much is the deposit?",
    "Do you travel to Sacramento?",
    "How far in advance do I need to book?",
    "Is there a minimum spend?",
    "Do you bring the grill and the chef?",
    "Can we get lobster?",
    "What is included in the package?",
]


def chat_completion(text: str, model: str) -> dict[str, Any]:
    """An OpenAI chat completion body."""
    return {
        "id": "chatcmpl-chaos",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 50, "completion_tokens": len(text.split())},
    }


_PASSAGE_START = re.compile(r"\n\n(?=\[[^\]\n]+\]\n)")


def passages_of(system: str) -> list[ContextPassage]:
    """The facts and passages an agent's system prompt carries (see the agents' templates):
    the facts as one "Computed for you" passage, each "[heading]\\ntext" block as a passage."""
    found: list[ContextPassage] = []
    head, _, knowledge = system.partition("\nKnowledge:\n")
    facts = [
        line[2:]
        for line in head.partition("\nFacts:\n")[2].splitlines()
        if line.startswith("- ") and line != "- (none)"
    ]
    if facts:
        found.append(ContextPassage(text="\n".join(facts), heading_path="Computed for you"))
    for block in _PASSAGE_START.split("\n\n" + knowledge.split("\nLessons from past")[0]):
        heading, _, text = block.strip().partition("\n")
        if heading.startswith("[") and heading.endswith("]") and text.strip():
            found.append(ContextPassage(text=text.strip(), heading_path=heading[1:-1]))
    return found


def grounded_answer(body: Mapping[str, Any]) -> str:
    """What the extractive teacher would say to this request (word overlap only, no model)."""
    messages = body.get("messages") or []
    system = next((m["content"] for m in messages if m.get("role") == "system"), "")
    question = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    sentences = asyncio.run(ExtractiveProvider().answer(question, passages_of(system)))
    return " ".join(sentences) or NO_INFORMATION


class ChaosServer(LoopbackServer):
    """`with ChaosServer(fault_rate=0.3, seed=7) as server:`; `faults` counts what it did.
    `kinds` narrows the faults drawn (an outage: `fault_rate=1.0, kinds=("http_500",)`)."""

    def __init__(
        self,
        *,
        fault_rate: float = 0.3,
        seed: int = 0,
        answer: Answer = grounded_answer,
        hang_s: float = 120.0,
        retry_after_s: float = 0.5,
        kinds: tuple[str, ...] = FAULTS,
    ) -> None:
        super().__init__()
        unknown = set(kinds) - set(FAULTS)
        if unknown or not kinds:
            raise ValueError(f"fault kinds are some of {FAULTS}, not {sorted(unknown)}")
        self.fault_rate = fault_rate
        self.kinds = kinds
        self.answer = answer
        self.hang_s = hang_s
        self.retry_after_s = retry_after_s
        self.faults: Counter[str] = Counter()
        self.answered = 0
        self._rng = random.Random(seed)
        self._count_lock = threading.Lock()

    def _next(self, request: RecordedRequest) -> Reply:
        with self._count_lock:
            fault = self._rng.choice(self.kinds) if self._rng.random() < self.fault_rate else None
            self.faults[fault or "none"] += 1
        if fault == "http_500":
            return Reply.error(500, "chaos: internal error")
        if fault == "http_429":
            return Reply.rate_limited(f"{self.retry_after_s:g}")
        if fault == "hang":
            return Reply.hang(self.hang_s)
        if fault == "not_json":
            return Reply.not_json()
        body = request.json() or {}
        reply = Reply.json(chat_completion(self.answer(body), str(body.get("model", ""))))
        with self._count_lock:
            self.answered += 1
        return reply

    @property
    def calls(self) -> int:
        return sum(self.faults.values())


def chaos_settings(
    folder: Path,
    server_url: str,
    *,
    base: Settings | None = None,
    timeout_s: float = 20.0,
    breaker: Mapping[str, Any] | None = None,
    retry: Mapping[str, Any] | None = None,
) -> Settings:
    """Config files in `folder` for a Triad whose two roles are served by `server_url`;
    `breaker` and `retry` replace keys of the shipped routing config's sections."""
    base = base or Settings()
    folder.mkdir(parents=True, exist_ok=True)
    models = yaml.safe_load(base.models_config.read_text())
    for model_id in (TEACHER, STUDENT):
        models["models"].append(
            {
                "id": model_id,
                "kind": "openai",
                "model": model_id.partition(":")[2],
                "base_url": f"{server_url}/v1",
                "input_price_per_mtok": 0.0,
                "output_price_per_mtok": 0.0,
                "context_window": 128000,
                "tier": "standard",
            }
        )
    shipped = yaml.safe_load(base.routing_config.read_text())
    every = ("low", "medium", "high")
    routing = {
        "routes": {
            "default": {p: [TEACHER] for p in every},
            "chat.teacher": {p: [TEACHER] for p in every},
            "chat.student": {p: [STUDENT] for p in every},
        },
        "role_priority": shipped["role_priority"],
        "retry": {**shipped["retry"], **(retry or {})},
        "breaker": {**shipped["breaker"], **(breaker or {})},
        "health": shipped["health"],
    }
    for section in ("retry", "breaker"):  # per-model rules of models this setup never calls
        routing[section].pop("models", None)
    role = {"timeout_s": timeout_s, "max_tokens": 160}
    ensemble = yaml.safe_load(base.ensemble_config.read_text())
    ensemble["profile"] = "chaos"
    ensemble["profiles"] = {
        "chaos": {"teacher": {"model": TEACHER, **role}, "student": {"model": STUDENT, **role}}
    }
    files = {
        "models_config": ("models.yaml", models),
        "routing_config": ("routing.yaml", routing),
        "ensemble_config": ("ensemble.yaml", ensemble),
        "cache_config": ("cache.yaml", {"enabled": False}),
        "experiments_config": ("experiments.yaml", {"experiments": []}),
    }
    update: dict[str, Any] = {"scheduler": False, "ensemble_profile": None}
    for field, (name, content) in files.items():
        path = folder / name
        path.write_text(yaml.safe_dump(content, sort_keys=False))
        update[field] = path
    return base.model_copy(update=update)


def chaos_environ(settings: Settings) -> dict[str, str]:
    """The same settings as TRIAD_* variables, for a `triad serve` subprocess."""
    names = ("models_config", "routing_config", "ensemble_config", "cache_config")
    environ = {f"TRIAD_{n.upper()}": str(getattr(settings, n)) for n in names}
    environ["TRIAD_EXPERIMENTS_CONFIG"] = str(settings.experiments_config)
    environ["TRIAD_SCHEDULER"] = "false"
    return environ
