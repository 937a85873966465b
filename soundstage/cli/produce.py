"""Command: produce — the main job: logline in, screenplay package out."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from soundstage.backends import load_backend
from soundstage.cli._app import app, console, state
from soundstage.errors import SoundstageError
from soundstage.script.controls import GENRES, RATINGS, TONES, check_controls, check_logline
from soundstage.script.structures import STRUCTURES
from soundstage.script.types import Controls


@app.command()
def produce(
    logline: str = typer.Argument(..., help="One or two sentences: who wants what, against what."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the finished assets."),
    minutes: float = typer.Option(
        10.0, "--minutes", help="Target runtime (about a page a minute)."
    ),
    genre: str = typer.Option("drama", "--genre", help=f"One of: {', '.join(GENRES)}."),
    tone: str = typer.Option("earnest", "--tone", help=f"One of: {', '.join(TONES)}."),
    rating: str = typer.Option(
        "PG-13", "--rating", help=f"Audience rating, one of: {', '.join(RATINGS)}."
    ),
    structure: str = typer.Option(
        "three-act", "--structure", help=f"One of: {', '.join(STRUCTURES)}."
    ),
    model: str | None = typer.Option(
        None, "--model", "-m", help="Backend spec (default: settings)."
    ),
    seed: int = typer.Option(1, "--seed", "-s", help="Same seed, same screenplay."),
    author: str | None = typer.Option(
        None, "--author", help="Your name, for the title page (default: SOUNDSTAGE_AUTHOR)."
    ),
    score: bool = typer.Option(
        True, "--score/--no-score", help="Compose and render the soundtrack into score/."
    ),
    soundfont: Path | None = typer.Option(
        None, "--soundfont", help="General MIDI .sf2 for rendering (default: auto-detect)."
    ),
    policy: str | None = typer.Option(
        None,
        "--policy",
        help="Moderation policy for the release gate (name or file; default: kids for G "
        "and PG, release for PG-13 and R).",
    ),
    gate: str | None = typer.Option(
        None, "--gate", help="stop (a block ends the export), report, or off (default: policy's)."
    ),
) -> None:
    """Write a screenplay and its score from a logline: script files, report and score/ in --out."""
    from soundstage.produce import produce as run_produce

    if structure not in STRUCTURES:
        raise SoundstageError(
            f"unknown --structure {structure!r}", hint=f"use one of: {', '.join(STRUCTURES)}"
        )
    controls = Controls(genre, tone, rating, minutes, structure)  # type: ignore[arg-type]
    check_logline(logline)  # before the model loads (seconds): a typo is an instant error
    controls = check_controls(controls)
    settings = state.settings()
    author = author if author is not None else settings.author
    with console.status("loading the writer (the first run prepares its model, ~20 s)"):
        loaded = load_backend(model or settings.model, settings)
    with loaded as backend:
        columns = (
            TextColumn("{task.description:<9}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[message]}"),
        )
        with Progress(*columns, console=console, transient=False) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(stage: str, done: float, message: str) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=1.0, message="")
                bar.update(tasks[stage], completed=done, message=message)

            result = run_produce(
                logline,
                out,
                backend,
                controls,
                seed=seed,
                author=author,
                progress=progress,
                score=score,
                soundfont=soundfont,
                policy=policy,
                gate=gate,
                settings=settings,
            )
    console.print(f"[bold]{result.screenplay.title}[/] written to {out}/", highlight=False)
    for asset in result.exporter.assets:
        console.print(f"  {asset.path:<22} {asset.bytes:>9,} bytes", highlight=False)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
