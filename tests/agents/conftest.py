"""Fixtures of the agents tests: the demo tenant's rules, loaded once, and a scratch tenant."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from triad.agents.rules import BusinessRules, load_rules
from triad.settings import PROJECT_ROOT

DEMO = PROJECT_ROOT / "tenants" / "demo"


@pytest.fixture(scope="session")
def rules() -> BusinessRules:
    return load_rules(DEMO)


@pytest.fixture
def tenant(tmp_path: Path) -> Path:
    """A writable copy of the demo tenant (rules.yaml and knowledge/) a test may break."""
    target = tmp_path / "demo"
    shutil.copytree(DEMO, target)
    return target
