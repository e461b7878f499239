"""Helpers shared by the knowledge tests: a writable copy of the demo knowledge base."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from triad.settings import Settings


@pytest.fixture
def kb(settings: Settings, tmp_path: Path) -> Path:
    """A copy of the demo tenant's knowledge folder that a test may edit."""
    target = tmp_path / "knowledge"
    shutil.copytree(settings.knowledge_dir, target)
    return target
