"""CLI commands of triad.auth, added to the `triad` app by `register`."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this package's commands to the `triad` CLI."""
