"""The `soundstage` command line: a thin layer over library functions.

Each sub-module registers its commands on `app`; a command parses options, calls one
library function and prints the result with Rich. User mistakes raise `SoundstageError`,
which `main()` prints as one line on stderr with a non-zero exit code; `--debug` shows the
traceback instead.
"""

from __future__ import annotations

import sys

from soundstage.cli._app import app, console_err, state
from soundstage.errors import SoundstageError

# Importing the command modules registers their commands on `app`.
from soundstage.cli import core as _core  # noqa: E402,F401  isort: skip
from soundstage.cli import generate as _generate  # noqa: E402,F401  isort: skip
from soundstage.cli import serve as _serve  # noqa: E402,F401  isort: skip
from soundstage.cli import jobs as _jobs  # noqa: E402,F401  isort: skip
from soundstage.cli import db as _db  # noqa: E402,F401  isort: skip
from soundstage.cli import produce as _produce  # noqa: E402,F401  isort: skip
from soundstage.cli import write as _write  # noqa: E402,F401  isort: skip
from soundstage.cli import write_files as _write_files  # noqa: E402,F401  isort: skip
from soundstage.cli import music as _music  # noqa: E402,F401  isort: skip
from soundstage.cli import recommend as _recommend  # noqa: E402,F401  isort: skip
from soundstage.cli import recommend_data as _recommend_data  # noqa: E402,F401  isort: skip
from soundstage.cli import recommend_model as _recommend_model  # noqa: E402,F401  isort: skip
from soundstage.cli import moderate as _moderate  # noqa: E402,F401  isort: skip
from soundstage.cli import moderate_queue as _moderate_queue  # noqa: E402,F401  isort: skip
from soundstage.cli import users as _users  # noqa: E402,F401  isort: skip
from soundstage.cli import detect as _detect  # noqa: E402,F401  isort: skip
from soundstage.cli import keys as _keys  # noqa: E402,F401  isort: skip
from soundstage.cli import data as _data  # noqa: E402,F401  isort: skip
from soundstage.cli import audit as _audit  # noqa: E402,F401  isort: skip

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the Typer app and turn user errors into one-line messages.

    Typer (standalone mode) prints usage errors itself and exits 2; our own
    `SoundstageError`s propagate out of it and are printed here.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="soundstage")
    except SoundstageError as exc:
        if state.debug:
            raise
        console_err.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
        if exc.hint:
            console_err.print(f"  hint: {exc.hint}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
