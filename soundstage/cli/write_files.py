"""Commands: `soundstage write convert` and `soundstage write eval` — screenplay files.

Inputs are `.fountain`, `.fdx` or `.json`; a `.json` is either a format Document
(`Document.to_json`) or a domain Screenplay as `soundstage produce` writes it, told apart by
its keys, and a Screenplay is rendered to a Document the way `produce` renders it.

`convert` writes its one file through `Exporter` (temp file beside OUT, then rename), so a
failure never leaves OUT half-written, but it writes no `manifest.json`: a single-file
conversion should not drop a manifest beside whatever files already share OUT's folder.
Everything is read, checked and rendered before the first byte is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from soundstage.cli._app import console
from soundstage.cli.write import write_app
from soundstage.errors import FormatError, SoundstageError
from soundstage.export import Exporter
from soundstage.script.formats.elements import Document, Element
from soundstage.script.types import Screenplay

READERS = (".fountain", ".fdx", ".json")
FORMATS = ("fountain", "fdx", "pdf", "json")
_SCREENPLAY_KEYS = {"logline", "title", "characters", "scenes", "places", "dialogue"}


# -- reading -------------------------------------------------------------------------------


def read_script(path: Path) -> tuple[Document, Screenplay | None]:
    """A script file as a Document, plus the Screenplay when the file is one."""
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise SoundstageError(
            f"{path}: unknown script format {path.suffix or '(no suffix)'!r}",
            hint="give a .fountain, .fdx or .json file",
        )
    if not path.exists():
        raise FormatError.at(path, None, "no such file")
    if path.is_dir():
        raise FormatError.at(path, None, "is a folder, not a script file")
    if suffix == ".fountain":
        from soundstage.script.formats.fountain import read_fountain

        return _checked(read_fountain(path), path), None
    if suffix == ".fdx":
        from soundstage.script.formats.fdx import read_fdx

        return _checked(read_fdx(path), path), None
    return _read_json(path)


def _read_json(path: Path) -> tuple[Document, Screenplay | None]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except OSError as exc:
        raise FormatError.at(path, None, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise FormatError.at(path, None, f"not valid UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise FormatError.at(path, exc.lineno, f"not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise FormatError.at(path, None, "JSON nested too deeply") from None
    shape_hint = "pass a Document JSON (with 'elements') or a screenplay.json from produce"
    if not isinstance(data, dict):
        raise FormatError.at(
            path, None, f"expected a JSON object, got {type(data).__name__}", hint=shape_hint
        )
    if "elements" in data:
        try:
            doc = Document.from_json(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FormatError.at(path, None, f"not a Document JSON: {_why(exc)}") from None
        return _checked(doc, path), None
    if not _SCREENPLAY_KEYS & data.keys():
        raise FormatError.at(
            path, None, "neither a Document nor a Screenplay JSON", hint=shape_hint
        )
    try:
        screenplay = Screenplay.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise FormatError.at(path, None, f"not a Screenplay JSON: {_why(exc)}") from None
    problem = _screenplay_problem(screenplay)
    if problem:
        raise FormatError.at(path, None, f"not a Screenplay JSON: {problem}")
    unknown = screenplay.unknown_people()
    if unknown:
        raise FormatError.at(
            path, None, f"screenplay refers to unknown character id {unknown[0]!r}"
        )
    from soundstage.script.render import render

    try:
        doc = render(screenplay)
    except (TypeError, ValueError, AttributeError) as exc:
        raise FormatError.at(path, None, f"not a Screenplay JSON: {_why(exc)}") from None
    return _checked(doc, path), screenplay


def _why(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc) or type(exc).__name__


def _screenplay_problem(sp: Screenplay) -> str | None:
    """Ids and texts must be strings (JSON lets anything through `from_json`)."""
    texts: list[tuple[str, object]] = [("title", sp.title), ("logline", sp.logline)]
    texts += [(f"character {c.id!r} id/name", v) for c in sp.characters for v in (c.id, c.name)]
    texts += [(f"scene {s.id!r}", v) for s in sp.scenes for v in (s.id, s.place, *s.characters)]
    texts += [
        (f"dialogue {key!r}", v)
        for key, d in sp.dialogue.items()
        for line in d.lines
        for v in (line.speaker, line.text, line.parenthetical)
    ]
    return next((f"{what} must be text" for what, v in texts if not isinstance(v, str)), None)


def _checked(doc: Document, path: Path) -> Document:
    """Reject values of the wrong type that `from_json` lets through."""
    for i, element in enumerate(doc.elements, 1):
        problem = _element_problem(element)
        if problem:
            raise FormatError.at(path, None, f"element {i} ({element.kind.value}): {problem}")
    return doc


def _element_problem(e: Element) -> str | None:
    if not isinstance(e.text, str):
        return "text must be a string"
    if e.scene_number is not None and not isinstance(e.scene_number, str):
        return "scene_number must be a string"
    if not isinstance(e.depth, int) or isinstance(e.depth, bool) or e.depth < 0:
        return "depth must be a whole number"
    if not isinstance(e.dual, bool) or not isinstance(e.forced, bool):
        return "dual and forced must be true or false"
    return None


# -- convert -------------------------------------------------------------------------------


def target_format(to: str | None, out: Path) -> str:
    suffix = out.suffix.lower().lstrip(".")
    if to is None:
        if suffix not in FORMATS:
            raise SoundstageError(
                f"cannot tell the output format from {out.name!r}",
                hint=f"give --to ({', '.join(FORMATS)}) or an OUT ending in one of them",
            )
        return suffix
    fmt = to.lower().lstrip(".")
    if fmt not in FORMATS:
        raise SoundstageError(f"unknown --to {to!r}", hint=f"use one of: {', '.join(FORMATS)}")
    if suffix in FORMATS and suffix != fmt:
        raise SoundstageError(
            f"--to {fmt} but {out.name!r} ends in .{suffix}",
            hint=f"name the output file *.{fmt}, or drop --to",
        )
    return fmt


def encode(doc: Document, fmt: str, *, disclosure: str | None = None) -> bytes:
    """The document in one output format, as bytes."""
    if fmt == "fountain":
        from soundstage.script.formats.fountain import write_fountain

        return write_fountain(doc).encode("utf-8")
    if fmt == "fdx":
        from soundstage.script.formats.fdx import write_fdx

        return write_fdx(doc)
    if fmt == "pdf":
        from soundstage.script.formats.pdf import render_pdf

        return render_pdf(doc, disclosure=disclosure)
    return (json.dumps(doc.to_json(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


@write_app.command()
def convert(
    source: Path = typer.Argument(..., metavar="IN", help="A .fountain, .fdx or .json script."),
    out: Path = typer.Option(..., "--out", "-o", help="The file to write."),
    to: str | None = typer.Option(
        None, "--to", help="fountain, fdx, pdf or json (default: from OUT's suffix)."
    ),
    disclose: str | None = typer.Option(
        None, "--disclose", help="An AI-use notice for the PDF title page (pdf only)."
    ),
) -> None:
    """Convert a script between Fountain, Final Draft, PDF and Document JSON."""
    fmt = target_format(to, out)
    if disclose is not None and fmt != "pdf":
        raise SoundstageError("--disclose only applies to --to pdf")
    if out.is_dir():
        raise SoundstageError(f"{out} is a folder", hint="give a file name for --out")
    doc, _ = read_script(source)
    data = encode(doc, fmt, disclosure=disclose)
    written = Exporter(out.parent).write_bytes(out.name, data)  # no manifest: see the module
    console.print(f"wrote {written} ({fmt}, {len(data):,} bytes)", highlight=False)


# -- eval ----------------------------------------------------------------------------------


@write_app.command("eval")
def eval_command(
    file: Path = typer.Argument(..., help="A .fountain, .fdx or .json script."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead."),
) -> None:
    """Check a script: format, runtime, dialogue diversity, loops, character consistency."""
    from soundstage.script.evaluate import evaluate

    doc, screenplay = read_script(file)
    result = {"file": str(file), **evaluate(doc, screenplay).to_json()}
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    console.print(_table(result))


def _table(r: dict[str, Any]) -> Table:
    from soundstage.script.evaluate import EQUAL_TOKENS

    fmt, div, eq, loops, cons = (
        r["format"],
        r["diversity"],
        r["diversity_equal"],
        r["loops"],
        r["consistency"],
    )
    table = Table(title=escape(f"{r['file']}: {'valid' if r['valid'] else 'NOT valid'}"))
    table.add_column("check")
    table.add_column("result")

    def yes(flag: bool) -> str:
        return "yes" if flag else "[red]no[/]"

    table.add_row("Fountain round trip", yes(fmt["round_trip"]) + _paren(fmt["round_trip_error"]))
    table.add_row("title page", yes(fmt["title_page"]))
    table.add_row(
        "scene headings", f"{fmt['headings']} ({fmt['nonstandard_headings']} not INT/EXT/...)"
    )
    table.add_row("orphan cues", str(fmt["orphan_cues"]))
    shares = sorted(((v, k) for k, v in fmt["kinds"].items() if v), reverse=True)
    table.add_row("elements", ", ".join(f"{k} {v:.0%}" for v, k in shares))
    table.add_row("runtime", f"{r['pages']:.1f} pages ≈ {r['minutes']:.1f} min")
    for label, d in (("dialogue, all", div), (f"dialogue, first {EQUAL_TOKENS:,}", eq)):
        table.add_row(
            label,
            f"{d['tokens']:,} tokens: distinct-1 {d['distinct_1']:.3f}, "
            f"distinct-2 {d['distinct_2']:.3f}, distinct-3 {d['distinct_3']:.3f}, "
            f"rep-4 {d['rep_4']:.3f}",
        )
    table.add_row(
        "loops", f"{loops['loops']} looping blocks, {loops['repeated_speeches']} repeated speeches"
    )
    top = escape(", ").join(escape(f"{name} {n}") for name, n in list(cons["speakers"].items())[:6])
    table.add_row("speakers", f"{len(cons['speakers'])} ({top})" if top else "0")
    if cons["checked_speeches"] is not None:
        share = cons["consistent_share"]
        table.add_row(
            "speaker present in scene",
            ("—" if share is None else f"{share:.0%}") + f" of {cons['checked_speeches']} speeches",
        )
        table.add_row(
            "undeclared speakers", escape(", ".join(cons["undeclared_speakers"])) or "none"
        )
        table.add_row("never speak", escape(", ".join(cons["silent_characters"])) or "none")
    return table


def _paren(text: str | None) -> str:
    return f" ({escape(text)})" if text else ""
