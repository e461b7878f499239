"""Versioned system-prompt templates of the agents.

A prompt version names the template file and a hash of everything that shapes the prompt
(template text and approved lessons), so caches and training signals keyed on it turn over the
moment the prompt really changes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from triad.errors import InvalidConfigError

TEMPLATES_DIR = Path(__file__).parent / "templates"
_NAME = re.compile(r"^(?P<agent>[a-z_]+)\.v(?P<version>\d+)\.txt$")


@dataclass(frozen=True)
class PromptTemplate:
    """One version of one agent's system prompt."""

    agent: str
    version: int
    text: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:8]

    def version_id(self, lessons: Sequence[str] = ()) -> str:
        """`menu.v1-1a2b3c4d`, plus `+L<hash>` when lessons are part of the prompt."""
        base = f"{self.agent}.v{self.version}-{self.digest}"
        if not lessons:
            return base
        joined = "\n".join(lessons).encode()
        return f"{base}+L{hashlib.sha256(joined).hexdigest()[:8]}"

    def render(
        self,
        *,
        business_name: str,
        facts: Sequence[str],
        passages: Sequence[str],
        lessons: Sequence[str] = (),
    ) -> str:
        lesson_block = ""
        if lessons:
            lesson_block = "\nLessons from past mistakes (follow them):\n" + "\n".join(
                f"- {lesson}" for lesson in lessons
            )
        return self.text.format(
            business_name=business_name,
            facts="\n".join(f"- {f}" for f in facts) or "- (none)",
            passages="\n\n".join(passages) or "(nothing relevant found)",
            lessons=lesson_block,
        ).strip()


@cache
def load_template(agent: str, version: int | None = None) -> PromptTemplate:
    """The given version of an agent's template, or its newest one."""
    found: dict[int, Path] = {}
    for path in TEMPLATES_DIR.glob(f"{agent}.v*.txt"):
        match = _NAME.match(path.name)
        if match and match["agent"] == agent:
            found[int(match["version"])] = path
    if not found:
        raise InvalidConfigError(f"no prompt template for agent '{agent}' in {TEMPLATES_DIR}")
    chosen = version if version is not None else max(found)
    if chosen not in found:
        raise InvalidConfigError(
            f"agent '{agent}' has no prompt version {chosen}; available: {sorted(found)}"
        )
    return PromptTemplate(agent=agent, version=chosen, text=found[chosen].read_text())
