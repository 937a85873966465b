"""Commands: users add|list|roles|token|tokens|revoke|disable|enable|passwd|set-roles.

    soundstage users add alice --role reviewer            # prints alice's API token, one line
    soundstage users add bob --role writer --role composer --password-stdin < pw.txt
    soundstage users token alice --days 30 --label laptop # another token (one line)
    soundstage users revoke alice [--token ID]            # all of alice's tokens, or one
    soundstage users disable alice                        # locks alice out at once

Tokens go to stdout alone, so `T=$(soundstage users add ...)` captures one; everything
else goes to stderr. A token is shown once: it is stored only as a hash.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.table import Table

from soundstage.accounts import (
    DEFAULT_TOKEN_DAYS,
    ROLE_HELP,
    AccountError,
    Accounts,
    check_roles,
)
from soundstage.cli._app import app, console, console_err, state
from soundstage.settings import ensure_data_dir

users_app = typer.Typer(help="Accounts, roles and API tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")

ROLE_OPTION = typer.Option(..., "--role", "-r", help="A role (repeat for several).")
DAYS_OPTION = typer.Option(
    DEFAULT_TOKEN_DAYS, "--days", min=0, help="Days until the token expires (0: never)."
)


@contextmanager
def open_accounts() -> Iterator[Accounts]:
    from soundstage.store.db import open_store

    settings = state.settings()
    if not settings.database_url:
        ensure_data_dir(settings)
    engine = open_store(settings)
    try:
        yield Accounts(engine)
    finally:
        engine.dispose()


def _password_from_stdin() -> str:
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise AccountError("no password on stdin", hint="echo 'secret' | soundstage users add …")
    return password


@users_app.command("add")
def add(
    name: str = typer.Argument(..., help="The account name (lower case is kept)."),
    role: list[str] = ROLE_OPTION,
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read a password (for the web studio) from stdin."
    ),
    days: int = DAYS_OPTION,
) -> None:
    """Create an account and print its first API token (shown once)."""
    password = _password_from_stdin() if password_stdin else None
    with open_accounts() as accounts:
        issued = accounts.add(name, role, password=password, days=days or None)
    console_err.print(
        f"added {issued.user} ({', '.join(check_roles(role))}); token {issued.id} "
        f"{_expiry(issued.expires_at)}",
        highlight=False,
    )
    print(issued.token)


@users_app.command("token")
def token(
    name: str = typer.Argument(..., help="An existing account."),
    days: int = DAYS_OPTION,
    label: str = typer.Option("", "--label", help="What the token is for."),
) -> None:
    """Issue another API token for NAME and print it (shown once)."""
    with open_accounts() as accounts:
        issued = accounts.issue(name, days=days or None, label=label)
    console_err.print(f"token {issued.id} {_expiry(issued.expires_at)}", highlight=False)
    print(issued.token)


@users_app.command("list")
def list_users() -> None:
    """Every account: roles, state and live tokens."""
    with open_accounts() as accounts:
        rows = accounts.users()
    table = Table("name", "roles", "state", "live tokens")
    for user, disabled, live in rows:
        table.add_row(
            user.name, ", ".join(user.roles), "disabled" if disabled else "active", str(live)
        )
    console.print(table)


@users_app.command("tokens")
def tokens(name: str = typer.Argument(..., help="An existing account.")) -> None:
    """NAME's tokens (ids, labels, expiry, revocation, last use); never the secrets."""
    with open_accounts() as accounts:
        found = accounts.tokens(name)
    table = Table("id", "label", "created", "expires", "revoked", "last used")
    for t in found:
        table.add_row(
            t.id,
            t.label,
            _day(t.created_at),
            _day(t.expires_at) or "never",
            _day(t.revoked_at),
            _day(t.last_used_at),
        )
    console.print(table)


@users_app.command("roles")
def roles() -> None:
    """The roles and what each may do."""
    table = Table("role", "may")
    for role, may in ROLE_HELP.items():
        table.add_row(role, may)
    console.print(table)


@users_app.command("set-roles")
def set_roles(name: str = typer.Argument(...), role: list[str] = ROLE_OPTION) -> None:
    """Replace NAME's roles."""
    with open_accounts() as accounts:
        user = accounts.set_roles(name, role)
    console_err.print(f"{user.name}: {', '.join(user.roles)}", highlight=False)


@users_app.command("revoke")
def revoke(
    name: str = typer.Argument(...),
    token_id: str | None = typer.Option(None, "--token", help="One token's id (default: all)."),
) -> None:
    """Revoke NAME's tokens (all, or one with --token)."""
    with open_accounts() as accounts:
        count = accounts.revoke(name, token_id)
    console_err.print(f"revoked {count} token{'s' if count != 1 else ''}", highlight=False)


@users_app.command("disable")
def disable(name: str = typer.Argument(...)) -> None:
    """Lock NAME out: every token and the password stop working at once."""
    with open_accounts() as accounts:
        accounts.set_disabled(name, True)
    console_err.print(f"disabled {name}", highlight=False)


@users_app.command("enable")
def enable(name: str = typer.Argument(...)) -> None:
    """Let a disabled account back in (its unexpired, unrevoked tokens work again)."""
    with open_accounts() as accounts:
        accounts.set_disabled(name, False)
    console_err.print(f"enabled {name}", highlight=False)


@users_app.command("passwd")
def passwd(name: str = typer.Argument(...)) -> None:
    """Set NAME's password (for the web studio), read from stdin."""
    password = _password_from_stdin()
    with open_accounts() as accounts:
        accounts.set_password(name, password)
    console_err.print(f"password set for {name}", highlight=False)


def _day(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else ""


def _expiry(value: object) -> str:
    return f"expires {_day(value)} UTC" if value else "never expires"
