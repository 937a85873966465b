"""Commands: `soundstage audit …` — representation and fairness audits with reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from soundstage.cli._app import app, console, state
from soundstage.errors import SoundstageError

if TYPE_CHECKING:
    from soundstage.script.formats.elements import Document
    from soundstage.script.types import Screenplay

audit_app = typer.Typer(
    help="Audit representation and fairness: scripts (more to come).", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")


@audit_app.command("script")
def audit_script_command(
    script: str = typer.Argument(..., help="A .fountain, .fdx or .json script, or a project id."),
    cast: Path | None = typer.Option(
        None, "--cast", help="CSV with name,gender[,age][,cue]: the declared cast of a file."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write audit.html and audit.json here."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print every figure as one JSON object."),
) -> None:
    """Who speaks and how much, by gender and age; Bechdel–Wallace; beside the Pudding and
    Annenberg figures. Gender and age come from the declared cast only."""
    from soundstage.audit.report import script_report, write_report
    from soundstage.audit.script import audit_script, cast_from_screenplay, read_cast

    doc, screenplay = _load(script)
    people = cast_from_screenplay(screenplay) if screenplay is not None else []
    if cast is not None:
        people = read_cast(cast) + people  # the file's declarations come first
    audit = audit_script(doc, people, title=screenplay.title if screenplay else "")
    report = script_report(audit)
    if out is not None:
        from soundstage.export import Exporter
        from soundstage.provenance.credentials import Provenance
        from soundstage.provenance.signing import sealer

        exporter = Exporter(out)
        exporter.seal, _ = sealer(state.settings(), Provenance(package=out.name))
        written = write_report(exporter, report)
        exporter.write_manifest()
        if not as_json:
            console.print(f"wrote {', '.join(str(out / n) for n in written)}", highlight=False)
    if as_json:
        typer.echo(json.dumps(report.data, ensure_ascii=False))
        return
    console.print(report.verdict, highlight=False)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)


def _load(script: str) -> tuple[Document, Screenplay | None]:
    """A script file, or a project in the store (anything that is not an existing path and
    has no script suffix)."""
    from soundstage.cli.write_files import READERS, read_script

    path = Path(script)
    if path.exists() or path.suffix.lower() in READERS:
        return read_script(path)
    from soundstage.script.render import render
    from soundstage.script.room import load_draft
    from soundstage.settings import ensure_data_dir
    from soundstage.store import open_store

    settings = state.settings()
    ensure_data_dir(settings)
    engine = open_store(settings)
    try:
        draft = load_draft(engine, script)
    except SoundstageError as exc:
        raise SoundstageError(
            f"{script}: no such script file or project ({exc.message})",
            hint="a .fountain, .fdx or .json file, or a project id (`soundstage write list`)",
        ) from None
    finally:
        engine.dispose()
    return render(draft.screenplay), draft.screenplay
