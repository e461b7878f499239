"""CLI commands of triad.auth, added to the `triad` app by `register`.

Passwords come from a hidden prompt (typed twice) or from standard input with
`--password-stdin`, never from an argument (it would land in the shell history and `ps`).
New API tokens are printed once and never again. Nothing here logs a secret.
"""

from __future__ import annotations

import sys
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from triad.auth import users
from triad.cli_support import fail, run_in_session

T = TypeVar("T")
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


def register(app: typer.Typer) -> None:
    """Add this package's commands to the `triad` CLI."""

    @app.command("create-user")
    def create_user(
        email: Annotated[str, typer.Option(help="sign-in email (stored lower-case)")],
        role: Annotated[str, typer.Option(help="staff | admin")] = "staff",
        name: Annotated[str, typer.Option(help="display name")] = "",
        password_stdin: Annotated[
            bool, typer.Option("--password-stdin", help="read the password from standard input")
        ] = False,
    ) -> None:
        """Create a staff or admin account (password of at least 12 characters)."""
        if role not in users.ROLES:
            raise fail(f"role must be one of {', '.join(users.ROLES)} (got '{role}')")
        password = _read_password(password_stdin)
        user = run_in_session(lambda s: users.create_user(s, email, password, role, name))
        out.print(f"created {user.role} {user.email} (id {user.id})")

    @app.command("set-password")
    def set_password(
        email: Annotated[str, typer.Option(help="the account's email")],
        password_stdin: Annotated[
            bool, typer.Option("--password-stdin", help="read the password from standard input")
        ] = False,
    ) -> None:
        """Replace an account's password; it is unlocked and signed out everywhere."""
        password = _read_password(password_stdin)
        user = run_in_session(lambda s: users.set_password(s, email, password))
        out.print(f"password changed for {user.email}")

    @app.command("deactivate-user")
    def deactivate_user(email: Annotated[str, typer.Option(help="the account's email")]) -> None:
        """Disable an account: its sessions end and its API tokens are revoked."""
        user = run_in_session(lambda s: users.deactivate(s, email))
        out.print(f"deactivated {user.email}")

    @app.command("create-token")
    def create_token(
        email: Annotated[str, typer.Option(help="the account the token acts as")],
        name: Annotated[str, typer.Option(help="what the token is for")],
    ) -> None:
        """Make an API token for the JSON APIs; it is printed once, only its hash is kept."""
        token = run_in_session(lambda s: users.create_token(s, email, name))
        err.print(
            f"token '{token.name}' (prefix {token.prefix}) created; "
            "it is shown only now, keep it somewhere safe:"
        )
        out.print(token.secret, highlight=False)

    @app.command("revoke-token")
    def revoke_token(
        email: Annotated[str, typer.Option(help="the token's account")],
        name: Annotated[str, typer.Option(help="the token's name")],
    ) -> None:
        """Revoke an account's live API tokens of that name."""
        count = run_in_session(lambda s: users.revoke_token(s, email, name))
        out.print(f"revoked {count} token(s) named '{name.strip()}' for {email.strip().lower()}")
