"""Commands: `soundstage music …` — spotting today; composing and rendering next."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from soundstage.cli._app import app, console
from soundstage.errors import SoundstageError

music_app = typer.Typer(help="Soundtracks matched to each scene.", no_args_is_help=True)
app.add_typer(music_app, name="music")


@music_app.command("spot")
def music_spot(
    screenplay: Path = typer.Argument(..., help="screenplay.json as written by `produce`."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for cues.json and cues.csv."),
    fps: int = typer.Option(24, "--fps", help="Timecode frame rate (whole numbers: 24, 25, 30…)."),
) -> None:
    """Spot a screenplay: one cue per scene with timecodes, duration and emotion."""
    from soundstage.export import Exporter
    from soundstage.music.spotting import spot, write_cue_sheet

    try:
        data = json.loads(screenplay.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SoundstageError(f"cannot read {screenplay}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        where = f"{screenplay}:{line}" if line else str(screenplay)
        raise SoundstageError(f"{where}: not a JSON screenplay ({exc})") from None
    cues = spot(data, fps=fps)
    write_cue_sheet(Exporter(out), cues, folder="")
    table = Table("cue", "in", "out", "sec", "usage", "V", "A", "Q", "scene")
    for c in cues:
        table.add_row(
            c.cue_id,
            c.tc_in,
            c.tc_out,
            f"{c.duration_s:.1f}",
            c.usage,
            f"{c.valence:+.2f}",
            f"{c.arousal:+.2f}",
            c.quadrant,
            c.scene_id,
        )
    console.print(table)
