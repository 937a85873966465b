"""Commands: `soundstage music spot | score | compose | render | train | eval`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from soundstage.cli._app import app, console, state
from soundstage.errors import SoundstageError

if TYPE_CHECKING:
    from soundstage.export import Seal
    from soundstage.music.render import Rendering

music_app = typer.Typer(help="Soundtracks matched to each scene.", no_args_is_help=True)
app.add_typer(music_app, name="music")


def _read_screenplay(screenplay: Path) -> Any:
    try:
        return json.loads(screenplay.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SoundstageError(f"cannot read {screenplay}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        where = f"{screenplay}:{line}" if line else str(screenplay)
        raise SoundstageError(f"{where}: not a JSON screenplay ({exc})") from None


def _marked(rendering: Rendering) -> Rendering:
    """`rendering` with this installation's audio watermark, unless the settings turn it off."""
    from soundstage.provenance.audio_mark import installation_mark

    mark = installation_mark(state.settings())
    return mark(rendering) if mark is not None else rendering


@music_app.command("spot")
def music_spot(
    screenplay: Path = typer.Argument(..., help="screenplay.json as written by `produce`."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for cues.json and cues.csv."),
    fps: int = typer.Option(24, "--fps", help="Timecode frame rate (whole numbers: 24, 25, 30…)."),
) -> None:
    """Spot a screenplay: one cue per scene with timecodes, duration and emotion."""
    from soundstage.export import Exporter
    from soundstage.music.spotting import spot, write_cue_sheet

    cues = spot(_read_screenplay(screenplay), fps=fps)
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


def _seal(package: str) -> Seal | None:
    """Content credentials for what the music commands write (None: unsigned, said so)."""
    from soundstage.provenance.signing import music_provenance, sealer

    seal, note = sealer(state.settings(), music_provenance(package))
    if note:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    return seal


def _emotion(text: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        valence, arousal = (float(p) for p in parts)
    except ValueError:
        raise SoundstageError(
            f"--emotion {text!r} must be two numbers V,A in -1..1", hint="e.g. --emotion -0.6,0.8"
        ) from None
    return valence, arousal


OUTPUT_KINDS = {".mid": "midi", ".midi": "midi", ".wav": "wav", ".musicxml": "xml", ".xml": "xml"}


@music_app.command("compose")
def music_compose(
    emotion: str = typer.Option(..., "--emotion", help="Valence,arousal in -1..1, e.g. 0.7,0.5."),
    seconds: float = typer.Option(..., "--seconds", help="Exact length of the cue (≤ 20 min)."),
    out: Path = typer.Option(..., "--out", "-o", help="FILE.mid, FILE.wav or FILE.musicxml."),
    style: str = typer.Option("auto", "--style", help="auto, chorale, irish, fiddle or air."),
    seed: int = typer.Option(0, "--seed", help="Same seed, same cue."),
    motif: str = typer.Option("", "--motif", help="Quote a leitmotif made for this name."),
    critic: bool = typer.Option(True, "--critic/--no-critic", help="Rerank with the critic."),
    engine: str = typer.Option("auto", "--engine", help="auto, fluidsynth, symusic or numpy."),
    soundfont: Path | None = typer.Option(None, "--soundfont", help="A General MIDI .sf2."),
    model: Path | None = typer.Option(None, "--model", help="Music model folder."),
) -> None:
    """Compose one cue for an emotion and an exact duration, ending on a cadence."""
    from soundstage.export import Exporter
    from soundstage.music.compose import CueRequest
    from soundstage.music.frame import check_cue
    from soundstage.music.leitmotif import make_motif
    from soundstage.music.score import midi_bytes
    from soundstage.music.setup import load_composer

    valence, arousal = _emotion(emotion)
    check_cue(valence, arousal, seconds, style)
    kind = OUTPUT_KINDS.get(out.suffix.lower())
    if kind is None:
        raise SoundstageError(
            f"--out {out}: unknown file type {out.suffix or '(none)'}",
            hint="use .mid, .wav or .musicxml",
        )
    if soundfont is not None and not soundfont.is_file():
        raise SoundstageError(f"--soundfont {soundfont}: no such file", hint="pass a GM .sf2 file")
    composer = load_composer(model, critic=critic, settings=state.settings())
    theme = make_motif(composer.model, motif, seed=seed) if motif else None
    request = CueRequest(valence, arousal, seconds, style=style, seed=seed, motif=theme)
    composition = composer.compose(request)
    exporter = Exporter(out.parent if str(out.parent) else Path("."), seal=_seal(out.stem))
    note = ""
    if kind == "midi":
        exporter.write_bytes(out.name, midi_bytes(composition.piece))
    elif kind == "xml":
        from soundstage.music.musicxml import to_musicxml

        exporter.write_bytes(out.name, to_musicxml(composition.piece))
    else:
        from soundstage.music.render import render, wav_bytes

        rendering = _marked(
            render(composition.piece, engine=engine, soundfont=soundfont, seconds=seconds)
        )
        note = rendering.note
        exporter.write_bytes(out.name, wav_bytes(rendering))
    facts = composition.summary()
    console.print(
        f"wrote {out}: {seconds:g} s, {facts['key']}, {facts['bpm']} bpm, {facts['bars']} bars, "
        f"form {facts['form']}, {facts['notes']} notes ({composition.seconds_spent:.2f} s)"
    )
    if note:
        console.print(f"[yellow]note:[/] {note}")


@music_app.command("train")
def music_train(
    data: Path = typer.Option(Path("runs/music_data"), "--data", help="From music.prepare."),
    out: Path = typer.Option(Path("runs/music_model"), "--out", help="Model folder to write."),
    config: Path = typer.Option(Path("configs/music_cpu.toml"), "--config", help="Recipe."),
    minutes: float = typer.Option(0.0, "--minutes", help="Wall-time cap (0 = the recipe's)."),
    critic_only: bool = typer.Option(False, "--critic-only", help="Only retrain the critic."),
) -> None:
    """Train the music model on the prepared corpus, then its realism critic (2 rounds)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise SoundstageError(
            "training needs torch", hint="pip install 'soundstage[train]' (CPU build, pinned)"
        ) from None
    from soundstage.lm.config import load_recipe
    from soundstage.music.adversarial import train_critic_rounds
    from soundstage.music.train import train

    if not (data / "train_offsets.npy").exists():
        raise SoundstageError(
            f"{data}/train_offsets.npy not found",
            hint=f"prepare the corpus first: python -m soundstage.music.prepare --out {data}",
        )
    if not critic_only:
        overrides = [f"train.max_minutes={minutes}"] if minutes else []
        train(load_recipe(config, overrides), data, out)
    train_critic_rounds(out, data, log=console.print)


@music_app.command("eval")
def music_eval(
    model: Path | None = typer.Option(None, "--model", help="Music model folder."),
    data: Path = typer.Option(Path("runs/music_data"), "--data", help="Prepared corpus."),
    samples: int = typer.Option(100, "--samples", help="Generated pieces per condition."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Realism (with/without critic), emotion control per quadrant and speed."""
    from soundstage.music.evaluate import evaluate, markdown

    if not (data / "train_offsets.npy").exists():
        raise SoundstageError(
            f"{data}/train_offsets.npy not found",
            hint=f"prepare the corpus first: python -m soundstage.music.prepare --out {data}",
        )
    if not 1 <= samples <= 10_000:
        raise SoundstageError(f"--samples {samples} is outside 1..10000")
    result = evaluate(model, data, samples=samples, log=None if as_json else console.print)
    if as_json:
        typer.echo(json.dumps(result, indent=1))
    else:
        console.print(markdown(result))


@music_app.command("score")
def music_score(
    screenplay: Path = typer.Argument(..., help="screenplay.json as written by `produce`."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the cue sheet, MIDI and audio."),
    seed: int = typer.Option(1, "--seed", help="Same seed, same score."),
    fps: int = typer.Option(24, "--fps", help="Timecode frame rate."),
    engine: str = typer.Option("auto", "--engine", help="auto, fluidsynth, symusic or numpy."),
    soundfont: Path | None = typer.Option(None, "--soundfont", help="A General MIDI .sf2."),
    notation: bool = typer.Option(True, "--musicxml/--no-musicxml", help="Write MusicXML."),
) -> None:
    """Spot a screenplay and compose, render and write its whole score."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from soundstage.export import Exporter
    from soundstage.music.score import ScoreOptions, write_score
    from soundstage.music.setup import load_composer
    from soundstage.music.spotting import spot

    if soundfont is not None and not soundfont.is_file():
        raise SoundstageError(f"--soundfont {soundfont}: no such file", hint="pass a GM .sf2 file")
    cues = spot(_read_screenplay(screenplay), fps=fps)
    composer = load_composer(settings=state.settings())
    from soundstage.provenance.audio_mark import installation_mark

    options = ScoreOptions(
        seed=seed,
        engine=engine,
        soundfont=soundfont,
        notation=notation,
        watermark=installation_mark(state.settings()) or False,
    )
    columns = (TextColumn("score"), BarColumn(), TextColumn("{task.fields[message]}"))
    with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("score", total=1.0, message="")
        result = write_score(
            Exporter(out, seal=_seal(out.name)),
            cues,
            composer,
            options,
            progress=lambda done, message: bar.update(task, completed=done, message=message),
            folder="",
        )
    console.print(f"{len(cues)} cues written to {out}/ ({result.render_engine or 'no'} audio)")
    if result.render_note:
        console.print(f"[yellow]note:[/] {result.render_note}")


@music_app.command("render")
def music_render(
    midi: Path = typer.Argument(..., help="A MIDI file."),
    out: Path = typer.Option(..., "--out", "-o", help="FILE.wav"),
    engine: str = typer.Option("auto", "--engine", help="auto, fluidsynth, symusic or numpy."),
    soundfont: Path | None = typer.Option(None, "--soundfont", help="A General MIDI .sf2."),
    sample_rate: int = typer.Option(44100, "--sample-rate", help="Hz."),
) -> None:
    """Render any MIDI file to WAV (FluidSynth, symusic or the built-in synthesizer)."""
    from soundstage.export import Exporter
    from soundstage.music.midi_io import read_midi
    from soundstage.music.render import render, wav_bytes

    if out.suffix.lower() != ".wav":
        raise SoundstageError(f"--out {out}: only .wav is written", hint="e.g. --out cue.wav")
    if not 8000 <= sample_rate <= 192000:
        raise SoundstageError(f"--sample-rate {sample_rate} is outside 8000..192000")
    piece = read_midi(midi)
    rendering = _marked(render(piece, sample_rate=sample_rate, engine=engine, soundfont=soundfont))
    Exporter(out.parent if str(out.parent) else Path(".")).write_bytes(
        out.name, wav_bytes(rendering)
    )
    console.print(f"wrote {out}: {rendering.seconds:.1f} s with {rendering.engine}")
    if rendering.note:
        console.print(f"[yellow]note:[/] {rendering.note}")
