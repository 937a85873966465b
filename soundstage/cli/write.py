"""Commands: `soundstage write …` — level-by-level co-writing and screenplay file tools."""

from __future__ import annotations

import typer

from soundstage.cli._app import app

write_app = typer.Typer(
    help="Co-write a screenplay level by level, and convert or evaluate screenplay files.",
    no_args_is_help=True,
)
app.add_typer(write_app, name="write")
