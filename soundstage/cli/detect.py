"""Command: `soundstage detect FILE|-`: is this text (or recording) watermarked by us?

Text (.txt, .fountain, .fdx, screenplay.json, or stdin) is tokenised with the tokenizer of
the model that wrote it (`--model`; default: a screenplay.json's own `model`, else the
settings' model) and scored with this installation's key (soundstage.provenance.text_mark).
.wav files go to the audio watermark's detector (soundstage.provenance.audio_mark).

Exit codes: 0 watermark detected, 1 not detected, 3 too short to tell, 2 bad input.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer

from soundstage.cli._app import app, console, state
from soundstage.errors import SoundstageError
from soundstage.provenance.types import Detection

EXIT_MARKED, EXIT_UNMARKED, EXIT_TOO_SHORT = 0, 1, 3
# Written prose in screenplay formats; headings, cues and transitions are formatting.
PROSE = {"action", "dialogue", "lyrics", "parenthetical"}


class DetectInputError(SoundstageError):
    """A file `detect` cannot read or make sense of."""


@app.command()
def detect(
    file: str = typer.Argument(..., help="A .txt/.fountain/.fdx/.json/.wav file, or '-'."),
    model: str | None = typer.Option(
        None, "--model", "-m", help="Backend spec of the model that wrote it (its tokenizer)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Test FILE for this installation's watermark: z-score, p-value and decision."""
    from soundstage.provenance.keys import watermark_key

    settings = state.settings()
    key = watermark_key(settings)
    if file != "-" and Path(file).suffix.lower() == ".wav":
        result = _detect_audio(Path(file), key)
    else:
        text, own_model = read_text(file)
        spec = model or own_model or settings.model
        result = _detect_text(file, text, key, spec)
        result = replace(result, note=f"{result.note} (tokenised as {spec})")
    _report(file, result, as_json)
    if result.note.startswith("too short"):
        raise typer.Exit(EXIT_TOO_SHORT)
    raise typer.Exit(EXIT_MARKED if result.marked else EXIT_UNMARKED)


def _detect_text(name: str, text: str, key: bytes, spec: str) -> Detection:
    from soundstage.provenance.text_mark import detect_text, tokenizer_for

    if not text.strip():
        raise DetectInputError(f"{name}: no text to test")
    return detect_text(text, key, tokenizer_for(spec))


def _detect_audio(path: Path, key: bytes) -> Detection:
    if not path.is_file():
        raise DetectInputError(f"{path}: no such file")
    try:
        from soundstage.provenance.audio_mark import detect_file
    except ImportError:
        raise DetectInputError(
            f"{path}: the audio watermark detector is not available in this build",
            hint="soundstage.provenance.audio_mark.detect_file is missing",
        ) from None
    result: Detection = detect_file(path, key)
    return result


def read_text(file: str) -> tuple[str, str | None]:
    """(the text to test, the model a screenplay.json names) from a path or '-' (stdin)."""
    if file == "-":
        return sys.stdin.read(), None
    path = Path(file)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DetectInputError(f"{file}: no such file") from None
    except OSError as exc:
        raise DetectInputError(f"{file}: cannot read: {exc.strerror or exc}") from None
    suffix = path.suffix.lower()
    if suffix == ".fdx":
        from soundstage.script.formats.fdx import parse_fdx

        return _prose(parse_fdx(raw, source=file).elements), None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DetectInputError(f"{file}: not UTF-8 text (byte {exc.start})") from None
    if suffix == ".fountain":
        from soundstage.script.formats.fountain_read import parse_fountain

        return _prose(parse_fountain(text, source=file).elements), None
    if suffix == ".json":
        return _screenplay_text(file, text)
    return text, None


def _prose(elements: list[Any]) -> str:
    return "\n".join(e.text for e in elements if str(e.kind) in PROSE and e.text)


def _screenplay_text(file: str, text: str) -> tuple[str, str | None]:
    """Action and speeches of a screenplay.json, in scene order, and the model it names."""
    try:
        data = json.loads(text)
        dialogue = data["dialogue"]
        parts: list[str] = []
        for scene in dialogue.values():
            if scene.get("action"):
                parts.append(str(scene["action"]))
            parts += [str(line["text"]) for line in scene.get("lines", [])]
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise DetectInputError(
            f"{file}: not a screenplay.json ({type(exc).__name__}: {exc})",
            hint="pass the screenplay.json that `soundstage produce` writes, or a .txt",
        ) from None
    model = data.get("model") if isinstance(data.get("model"), str) else None
    return "\n".join(parts), _spec_of(model)


def _spec_of(model: str | None) -> str | None:
    """A screenplay's `model` field as a backend spec, when it is one we can tokenise."""
    if not model:
        return None
    from soundstage.backends import parse_spec

    try:
        parse_spec(model)
    except SoundstageError:
        return None
    return model


def _report(file: str, result: Detection, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"file": file, **result.to_json()}, ensure_ascii=False))
        return
    short = result.note.startswith("too short")
    verdict = "WATERMARKED" if result.marked else "not watermarked"
    if short:
        verdict = result.note.split(" (tokenised")[0]
    console.print(
        f"{file}: {verdict}\n  z = {result.z:.2f}  p = {result.p_value:.2e}  "
        f"threshold z > {result.threshold:g} (false-positive rate {result.fpr:.1e})  "
        f"{result.units} {'tokens' if result.kind == 'text' else 'units'} scored"
        + (f"\n  {result.note}" if result.note and not short else ""),
        highlight=False,
        soft_wrap=True,
    )
