"""Run Alembic from inside Triad, so `make run`, the CLI and the tests share one path."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from triad.settings import PROJECT_ROOT


def alembic_config(url: str) -> Config:
    """An Alembic config for the project's migrations pointed at `url` (never at alembic.ini's)."""
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema at `url` up to `revision`."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Take the schema at `url` down to `revision`."""
    command.downgrade(alembic_config(url), revision)
