"""CLI commands of triad.auth, added to the `triad` app by `register`.

Passwords come from a hidden prompt (typed twice) or from standard input with
`--password-stdin`, never from an argument (it would land in the shell history and `ps`).
New API tokens and keys are printed once and never again. Nothing here logs a secret.
`triad keys create | list | revoke` manage the keys of the machine APIs (`/v1`, `/llm/complete`).
"""

from __future__ import annotations

import sys
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from triad.auth import keys, users
from triad.cli_support import fail, run_in_session
from triad.db.models import ApiKey

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


MAX_ID = 2**63 - 1


def _limit(value: float | int | None, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def register_keys(app: typer.Typer) -> None:
    """`triad keys ...`: keys for the machine APIs."""
    group = typer.Typer(help="API keys for /v1 and /llm/complete (shown once, stored hashed).")
    app.add_typer(group, name="keys")

    @group.command("create")
    def create(
        name: Annotated[str, typer.Option(help="what the key is for")],
        owner: Annotated[str, typer.Option(help="who holds it: a team, a service, an email")],
        models: Annotated[
            str | None,
            typer.Option(help="comma-separated models or patterns it may use (triad/*); all"),
        ] = None,
        budget_usd: Annotated[
            float | None, typer.Option(help="USD it may spend (ever, or per --budget-days)")
        ] = None,
        budget_days: Annotated[
            int | None, typer.Option(help="the budget is per this many days (rolling)")
        ] = None,
        rpm: Annotated[int | None, typer.Option(help="requests per minute it may make")] = None,
    ) -> None:
        """Make a key; it is printed once on standard output, only its SHA-256 is kept."""
        allowed = [m for m in (models or "").split(",") if m.strip()] if models else None
        try:
            spec = keys.KeySpec(
                name=name,
                owner=owner,
                allowed_models=allowed,
                budget_usd=budget_usd,
                budget_days=budget_days,
                rpm_limit=rpm,
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise fail(problems) from exc
        made = run_in_session(lambda s: keys.create_key(s, spec, created_by="cli"))
        err.print(
            f"key {made.id} '{made.name}' for {made.owner} (prefix {made.prefix}) created; "
            "it is shown only now, keep it somewhere safe:"
        )
        out.print(made.secret, highlight=False)

    @group.command("list")
    def list_(
        all_: Annotated[bool, typer.Option("--all", help="include revoked keys")] = False,
    ) -> None:
        """The keys with their limits and what each has spent (never a secret)."""

        async def load(s: AsyncSession) -> list[tuple[ApiKey, float]]:
            rows = await keys.list_keys(s, include_revoked=all_)
            spent = await keys.spent_by_key(s, rows)
            return [(row, spent[row.id]) for row in rows]

        rows = run_in_session(load)
        table = Table(title="API keys")
        for column in (
            "id",
            "name",
            "owner",
            "prefix",
            "models",
            "budget",
            "spent",
            "rpm",
            "state",
        ):
            table.add_column(column)
        for row, spent in rows:
            budget = _limit(row.budget_usd, "${:.2f}")
            if row.budget_usd is not None and row.budget_days:
                budget += f"/{row.budget_days}d"
            table.add_row(
                str(row.id),
                row.name,
                row.owner,
                row.prefix,
                ", ".join(row.allowed_models) if row.allowed_models is not None else "all",
                budget,
                f"${spent:.4f}",
                _limit(row.rpm_limit, "{}"),
                "revoked" if row.revoked_at else "live",
            )
        out.print(table)

    @group.command("revoke")
    def revoke(
        key_id: Annotated[
            int, typer.Argument(min=1, max=MAX_ID, help="the key's id (see `triad keys list`)")
        ],
    ) -> None:
        """Revoke a key at once: its next request is a 401."""
        row = run_in_session(lambda s: keys.revoke_key(s, key_id))
        out.print(f"revoked key {row.id} '{row.name}' ({row.owner})")
