"""Commands: `soundstage write …` — level-by-level co-writing and screenplay file tools."""

from __future__ import annotations

import typer

from soundstage.cli._app import app

write_app = typer.Typer(
    help="Co-write a screenplay level by level, and convert or evaluate screenplay files.",
    no_args_is_help=True,
)
app.add_typer(write_app, name="write")


# --- level-by-level co-writing ------------------------------------------------------------

import getpass  # noqa: E402
import sys  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

import click  # noqa: E402
from rich.table import Table  # noqa: E402

from soundstage.cli._app import console, state  # noqa: E402
from soundstage.errors import SoundstageError  # noqa: E402
from soundstage.settings import ensure_data_dir  # noqa: E402

if TYPE_CHECKING:
    from soundstage.script.room import Draft, WritersRoom

LEVEL_HELP = "logline, title, characters, scenes, places or dialogue"


@contextmanager
def room(model: str | None = None) -> Iterator[WritersRoom]:
    from soundstage.backends import load_backend
    from soundstage.script.room import WritersRoom
    from soundstage.store import open_store

    settings = state.settings()
    ensure_data_dir(settings)
    engine = open_store(settings)
    try:
        with load_backend(model or settings.model, settings) as backend:
            author = settings.author or getpass.getuser() or "writer"
            yield WritersRoom(
                engine, backend, author=author, progress=lambda m: console.print(f"[dim]{m}[/]")
            )
    finally:
        engine.dispose()


def summary(draft: Draft) -> None:
    from soundstage.script.room import next_level

    sp = draft.screenplay
    console.print(
        f"[bold]{sp.title or '(untitled)'}[/]  project {draft.project_id}  version {draft.version}",
        highlight=False,
    )
    console.print(f"  logline: {sp.logline}", highlight=False)
    console.print(
        f"  {len(sp.characters)} characters, {len(sp.scenes)} scenes, "
        f"{sum(len(d.lines) for d in sp.dialogue.values())} speeches",
        highlight=False,
    )
    upcoming = next_level(sp)
    console.print(f"  next level: {upcoming or 'done — `write export`'}", highlight=False)
    if draft.stale:
        names = ", ".join(f"{lvl}:{e}" for lvl, e in sorted(draft.stale))
        console.print(f"  [yellow]stale[/] (upper levels changed): {names}", highlight=False)


@write_app.command("new")
def write_new(
    logline: str = typer.Argument(..., help="One or two sentences."),
    name: str = typer.Option("", "--name", help="Project name (default: the logline)."),
    minutes: float = typer.Option(10.0, "--minutes"),
    genre: str = typer.Option("drama", "--genre"),
    tone: str = typer.Option("earnest", "--tone"),
    rating: str = typer.Option("PG-13", "--rating"),
    structure: str = typer.Option("three-act", "--structure"),
    seed: int = typer.Option(1, "--seed"),
    scene: Path | None = typer.Option(
        None,
        "--scene",
        help="Bottom-up: start from a scene you wrote (Fountain); its characters, place and "
        "dialogue are kept and the rest of the script is written around it.",
    ),
    at: int = typer.Option(1, "--at", help="With --scene: which scene of the script it is."),
) -> None:
    """Start a project from a logline (level 0); prints its id."""
    from soundstage.script.formats.scene_import import read_scene
    from soundstage.script.structures import STRUCTURES
    from soundstage.script.types import Controls

    if structure not in STRUCTURES:
        raise SoundstageError(f"unknown --structure {structure!r}", hint=", ".join(STRUCTURES))
    if at < 1:
        raise SoundstageError(f"--at {at}: scenes are numbered from 1")
    controls = Controls(genre, tone, rating, minutes, structure)  # type: ignore[arg-type]
    imported = None
    if scene is not None:
        try:
            text = scene.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SoundstageError(f"cannot read {scene}: {exc}") from None
        imported = read_scene(text, source=str(scene), number=at)
    with room() as r:
        draft = r.new(name, logline, controls, seed, scene=imported)
    print(draft.project_id)


@write_app.command("list")
def write_list() -> None:
    """List projects, most recently changed first."""
    with room() as r:
        rows = r.projects()
    table = Table("id", "name", "versions", "updated")
    for p in rows:
        table.add_row(p.id, p.name, str(p.head), p.updated_at.strftime("%Y-%m-%d %H:%M"))
    console.print(table)


@write_app.command("show")
def write_show(
    project: str = typer.Argument(...),
    level: str | None = typer.Argument(None, help=LEVEL_HELP),
    entity: str | None = typer.Argument(None, help="A character id, scene id or place name."),
) -> None:
    """Show a project's state, or a level (or one entity) in its editable form."""
    from soundstage.script import levels

    with room() as r:
        draft = r.load(project)
    if level is None:
        summary(draft)
        return
    lvl = levels.check_level(level)
    if entity:
        r._entity(draft.screenplay, lvl, entity)
    print(levels.to_text(draft.screenplay, lvl, entity))


@write_app.command("step")
def write_step(
    project: str = typer.Argument(...),
    all_levels: bool = typer.Option(
        False, "--all", help="Keep going until every level is written."
    ),
    model: str | None = typer.Option(None, "--model", "-m"),
) -> None:
    """Generate the next level that is not written yet (title → … → dialogue)."""
    from soundstage.script.room import next_level

    with room(model) as r:
        draft = r.load(project)
        while (upcoming := next_level(draft.screenplay)) is not None:
            console.print(f"generating {upcoming}…")
            draft = r.generate(draft.project_id, upcoming)
            if not all_levels:
                break
    summary(draft)


@write_app.command("regen")
def write_regen(
    project: str = typer.Argument(...),
    level: str | None = typer.Argument(None, help=LEVEL_HELP),
    entity: str | None = typer.Argument(None, help="For dialogue: the scene id."),
    stale: bool = typer.Option(False, "--stale", help="Regenerate everything marked stale."),
    model: str | None = typer.Option(None, "--model", "-m"),
) -> None:
    """Generate a level again (a new alternative), or regenerate what is stale."""
    with room(model) as r:
        if stale:
            draft = r.regen_stale(project)
        elif level:
            draft = r.generate(project, level, entity, op="regenerate")
        else:
            raise SoundstageError("name a LEVEL to regenerate, or pass --stale")
    summary(draft)


@write_app.command("continue")
def write_continue(
    project: str = typer.Argument(...),
    level: str = typer.Argument(..., help="characters, scenes or dialogue"),
    entity: str | None = typer.Argument(None, help="For dialogue: the scene id."),
    model: str | None = typer.Option(None, "--model", "-m"),
) -> None:
    """Add more: one more character, one more scene, or more dialogue at the end of a scene."""
    with room(model) as r:
        draft = r.continue_(project, level, entity)
    summary(draft)


@write_app.command("edit")
def write_edit(
    project: str = typer.Argument(...),
    level: str = typer.Argument(..., help=LEVEL_HELP),
    entity: str | None = typer.Argument(None, help="A character id, scene id or place name."),
    file: Path | None = typer.Option(
        None, "--file", "-f", help="Read the new text from FILE ('-' = stdin)."
    ),
    text: str | None = typer.Option(None, "--text", "-t", help="The new text."),
) -> None:
    """Replace a level or entity by hand (opens $EDITOR without --file/--text)."""
    from soundstage.script import levels

    with room() as r:
        lvl = levels.check_level(level)
        if text is None and file is not None:
            try:
                text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise SoundstageError(f"cannot read {file}: {exc}") from None
        if text is None:
            current = levels.to_text(r.load(project).screenplay, lvl, entity)
            text = click.edit(current, extension=".txt")
            if text is None or text == current:
                console.print("no change")
                return
        draft = r.edit(project, lvl, entity, text)
    summary(draft)


@write_app.command("history")
def write_history(
    project: str = typer.Argument(...),
    level: str | None = typer.Argument(None, help=LEVEL_HELP),
    entity: str | None = typer.Argument(None),
    back: bool = typer.Option(False, "--back", help="Restore the previous alternative."),
    forward: bool = typer.Option(False, "--forward", help="Restore the next alternative."),
) -> None:
    """List interventions (who, what, when), or step back/forward through a level."""
    with room() as r:
        if back or forward:
            if not level:
                raise SoundstageError("--back/--forward need a LEVEL")
            summary(r.step(project, level, -1 if back else 1, entity))
            return
        versions = r.versions(project, level)
    table = Table("v", "when", "op", "level", "entity", "actor", "change")
    for v in versions:
        changed = sum(1 for line in v.diff.splitlines() if line[:1] in "+-")
        table.add_row(
            str(v.version),
            v.created_at.strftime("%H:%M:%S"),
            v.op,
            v.level,
            v.entity,
            v.actor,
            f"{changed} lines",
        )
    console.print(table)


@write_app.command("export")
def write_export(
    project: str = typer.Argument(...),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the package."),
) -> None:
    """Write the package: fountain, fdx, pdf, json, log, report, manifest."""
    from soundstage.export import Exporter
    from soundstage.produce import export_package

    with room() as r:
        draft = r.load(project)
        log = r.log(project)
    from soundstage.provenance.signing import screenplay_provenance, sealer

    exporter = Exporter(out, generator=f"soundstage / {draft.screenplay.model}")
    about = screenplay_provenance(draft.screenplay, log, draft.project_id)
    exporter.seal, note = sealer(state.settings(), about)
    export_package(exporter, draft.screenplay, log)
    for asset in exporter.assets:
        console.print(f"  {asset.path:<22} {asset.bytes:>9,} bytes", highlight=False)
    if note:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
