"""The `soundstage` command line: a thin layer over library functions.

Each sub-module registers its commands on `app`; a command parses options, calls one
library function and prints the result with Rich. User mistakes raise `SoundstageError`,
which `main()` prints as one line on stderr with a non-zero exit code; `--debug` shows the
traceback instead.
"""

from __future__ import annotations

import sys

import click
import typer

from soundstage.cli._app import app, console_err, state
from soundstage.errors import SoundstageError

# Importing the command modules registers their commands on `app`.
from soundstage.cli import core as _core  # noqa: E402,F401  isort: skip
from soundstage.cli import generate as _generate  # noqa: E402,F401  isort: skip
from soundstage.cli import serve as _serve  # noqa: E402,F401  isort: skip
from soundstage.cli import jobs as _jobs  # noqa: E402,F401  isort: skip
from soundstage.cli import db as _db  # noqa: E402,F401  isort: skip

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the Typer app and turn user errors into one-line messages."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        # Without standalone mode click returns the code of `raise typer.Exit(code)`.
        code = app(args=args, prog_name="soundstage", standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except SoundstageError as exc:
        if state.debug:
            raise
        console_err.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
        if exc.hint:
            console_err.print(f"  hint: {exc.hint}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        console_err.print("aborted")
        sys.exit(130)
    except typer.Exit as exc:  # pragma: no cover - typer re-exports click's Exit
        sys.exit(exc.exit_code)
