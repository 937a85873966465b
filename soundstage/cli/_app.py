"""The Typer app object and process-wide CLI state, shared by the command modules."""

from __future__ import annotations

from dataclasses import dataclass

import typer
from rich.console import Console

from soundstage.settings import Settings, load_settings

app = typer.Typer(
    name="soundstage",
    help=(
        "soundstage: an offline-first generative-AI studio for screenwriters, "
        "composers and producers."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
console_err = Console(stderr=True)


@dataclass
class CliState:
    debug: bool = False
    data_dir: str | None = None
    database_url: str | None = None

    def settings(self) -> Settings:
        return load_settings(data_dir=self.data_dir, database_url=self.database_url)


state = CliState()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    data_dir: str | None = typer.Option(
        None, "--data-dir", help="Data directory (default $SOUNDSTAGE_DATA_DIR or XDG data dir)."
    ),
    database_url: str | None = typer.Option(
        None, "--database-url", help="SQLAlchemy database URL (default: SQLite in the data dir)."
    ),
) -> None:
    state.debug = debug
    state.data_dir = data_dir
    state.database_url = database_url
