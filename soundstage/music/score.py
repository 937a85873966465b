"""The film score: spotted cues → leitmotifs → composed, rendered cues → score/ (one Exporter).

    score/cues.json, cues.csv    the cue sheet (+ per-cue music facts: key, tempo, form, motif)
    score/motifs.json            each main character's leitmotif (scale degrees + rhythm)
    score/1M01.mid, .musicxml    each cue as MIDI and as notation
    score/1M01.wav               each cue rendered, exactly as long as its in→out timecodes
    score/score.mid, score.wav   the whole timeline: every cue at its timecode

Every WAV carries the installation's audio watermark (soundstage.provenance.audio_mark) unless
`ScoreOptions.watermark` is False or the settings turn watermarks off: each cue is marked once,
and score.wav mixes the marked cues.

Motifs go to the characters who appear in the most scenes (up to `max_motifs`); a cue quotes the
motif of the first such character in its scene. Seeds derive from the production seed and the cue
id, so re-running a production reproduces its score.

`recompose_cue` composes one cue of a written score again (another emotion, style or seed) and
rewrites what contains it: the cue's files, the timeline and its row of cues.json.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from soundstage.errors import SoundstageError
from soundstage.export import Exporter
from soundstage.music.compose import Composer, Composition, CueRequest
from soundstage.music.frame import check_cue
from soundstage.music.leitmotif import Motif, make_motif
from soundstage.music.midi_io import read_midi, to_score
from soundstage.music.render import Rendering, read_wav_bytes
from soundstage.music.spotting import (
    Cue,
    cue_from_row,
    cue_sheet_csv,
    cue_sheet_json,
    parse_timecode,
)
from soundstage.music.types import Note, Piece, Track

Progress = Callable[[float, str], None]
Mark = Callable[[Rendering], Rendering]


@dataclass
class ScoreOptions:
    seed: int = 1
    max_motifs: int = 4
    sample_rate: int = 22050
    engine: str = "auto"
    soundfont: Path | None = None
    audio: bool = True
    notation: bool = True
    candidates: int = 3
    # True: this installation's audio watermark (off where settings.watermark is); False: none;
    # or the function that marks a rendering (another key, tests).
    watermark: Mark | bool = True


def with_mark(opts: ScoreOptions) -> ScoreOptions:
    """`opts` with `watermark` resolved to a marking function, or False."""
    if opts.watermark is True and opts.audio:
        from soundstage.provenance.audio_mark import installation_mark
        from soundstage.settings import load_settings

        return replace(opts, watermark=installation_mark(load_settings()) or False)
    return opts


@dataclass
class Score:
    cues: list[Cue]
    compositions: list[Composition]
    motifs: dict[str, Motif]
    render_note: str = ""
    render_engine: str = ""
    files: list[Path] = field(default_factory=list)


def cue_seed(seed: int, cue_id: str) -> int:
    return int.from_bytes(hashlib.sha1(f"{seed}:{cue_id}".encode()).digest()[:4], "big")


def main_characters(cues: list[Cue], limit: int) -> list[str]:
    counts = Counter(c for cue in cues for c in cue.characters)
    return [name for name, _ in counts.most_common(limit)]


def midi_bytes(piece: Piece) -> bytes:
    return bytes(to_score(piece).dumps_midi())


def timeline(pieces: list[tuple[float, Piece]], title: str = "score") -> Piece:
    """All cues on one timeline, one track per (cue layer), offset to their in-points."""
    tracks: list[Track] = []
    for offset, piece in pieces:
        for t in piece.tracks:
            notes = tuple(
                Note(n.pitch, n.start + offset, n.end + offset, n.velocity) for n in t.notes
            )
            tracks.append(Track(t.program, t.is_drum, f"{piece.title} {t.name}".strip(), notes))
    tempo = pieces[0][1].tempo_bpm if pieces else 120.0
    return Piece(tuple(tracks), tempo_bpm=tempo, title=title, source="generated")


def cue_music(composition: Composition, files: list[str], request: CueRequest) -> dict[str, Any]:
    """A cue's music facts for cues.json: the frame, and what it was composed from (the
    valence/arousal asked for, which may differ from the spotted scene's, and the seed)."""
    return {
        **composition.summary(),
        "valence": request.valence,
        "arousal": request.arousal,
        "seed": request.seed,
        "files": files,
    }


@dataclass
class _Written:
    names: list[str]
    rendering: Rendering | None


def _write_cue(
    exporter: Exporter,
    prefix: str,
    cue: Cue,
    composition: Composition,
    opts: ScoreOptions,
    files: list[Path],
) -> _Written:
    """The cue's MIDI, MusicXML (with `opts.notation`) and WAV (with `opts.audio`)."""
    from soundstage.music.render import render, wav_bytes

    names = [f"{prefix}{cue.cue_id}.mid"]
    files.append(exporter.write_bytes(names[0], midi_bytes(composition.piece)))
    if opts.notation:
        from soundstage.music.musicxml import to_musicxml

        names.append(f"{prefix}{cue.cue_id}.musicxml")
        files.append(exporter.write_bytes(names[-1], to_musicxml(composition.piece)))
    rendering = None
    if opts.audio:
        rendering = render(
            composition.piece,
            sample_rate=opts.sample_rate,
            engine=opts.engine,
            soundfont=opts.soundfont,
            seconds=cue.duration_s,
        )
        if callable(opts.watermark):
            rendering = opts.watermark(rendering)
        names.append(f"{prefix}{cue.cue_id}.wav")
        files.append(exporter.write_bytes(names[-1], wav_bytes(rendering)))
    return _Written(names, rendering)


def _write_timeline(
    exporter: Exporter,
    prefix: str,
    cues: list[Cue],
    placed: list[tuple[float, Piece]],
    renders: list[tuple[float, Rendering]],
    opts: ScoreOptions,
) -> list[Path]:
    """score.mid (every cue at its in-point) and, with audio, score.wav (their mix)."""
    from soundstage.music.render import mix, wav_bytes

    runtime = parse_timecode(cues[-1].tc_out, cues[-1].fps) / cues[-1].fps if cues else 0.0
    files = [exporter.write_bytes(f"{prefix}score.mid", midi_bytes(timeline(placed)))]
    if opts.audio and renders:
        full = mix(renders, runtime, opts.sample_rate)
        files.append(exporter.write_bytes(f"{prefix}score.wav", wav_bytes(full)))
    return files


def cue_request(cue: Cue, motifs: dict[str, Motif], seed: int, **changes: Any) -> CueRequest:
    """What to compose for `cue`: its spotted emotion and length, the motif of its first
    character that has one, and `changes` (valence, arousal, style) on top."""
    lead = next((c for c in cue.characters if c in motifs), None)
    request = CueRequest(
        valence=cue.valence,
        arousal=cue.arousal,
        seconds=cue.duration_s,
        seed=seed,
        motif=motifs.get(lead) if lead else None,
        title=f"{cue.cue_id} {cue.description}".strip(),
    )
    return replace(request, **changes)


def write_score(
    exporter: Exporter,
    cues: list[Cue],
    composer: Composer,
    options: ScoreOptions | None = None,
    progress: Progress | None = None,
    folder: str = "score",
) -> Score:
    opts = with_mark(options or ScoreOptions())
    report = progress or (lambda done, message: None)
    prefix = f"{folder}/" if folder else ""
    motifs: dict[str, Motif] = {}
    for name in main_characters(cues, opts.max_motifs):
        motifs[name] = make_motif(composer.model, name, seed=opts.seed)
    score = Score(cues=cues, compositions=[], motifs=motifs)
    renders: list[tuple[float, Rendering]] = []
    placed: list[tuple[float, Piece]] = []
    music: list[dict[str, Any]] = []
    for i, cue in enumerate(cues):
        report(i / max(1, len(cues)), f"{cue.cue_id} ({cue.duration_s:.0f} s)")
        request = cue_request(cue, motifs, cue_seed(opts.seed, cue.cue_id))
        composition = composer.compose(request)
        score.compositions.append(composition)
        written = _write_cue(exporter, prefix, cue, composition, opts, score.files)
        offset = parse_timecode(cue.tc_in, cue.fps) / cue.fps
        placed.append((offset, composition.piece))
        if written.rendering is not None:
            score.render_note = written.rendering.note
            score.render_engine = written.rendering.engine
            renders.append((offset, written.rendering))
        music.append(cue_music(composition, written.names, request))
    report(0.95, "timeline")
    score.files += _write_timeline(exporter, prefix, cues, placed, renders, opts)
    sheet = cue_sheet_json(cues)
    for row, facts in zip(sheet["cues"], music, strict=True):
        row["music"] = facts
    sheet["composer"] = {
        "model": composer.model.dir.name,
        "critic": composer.critic is not None,
        "render_engine": score.render_engine,
        "render_note": score.render_note,
        "seed": opts.seed,
        "sample_rate": opts.sample_rate,
    }
    score.files.append(exporter.write_json(f"{prefix}cues.json", sheet))
    score.files.append(exporter.write_text(f"{prefix}cues.csv", cue_sheet_csv(cues)))
    score.files.append(
        exporter.write_json(
            f"{prefix}motifs.json", {"motifs": [m.to_json() for m in motifs.values()]}
        )
    )
    report(1.0, f"{len(cues)} cues")
    return score


def read_motifs(data: Any) -> dict[str, Motif]:
    """motifs.json → each character's motif."""
    return {
        m["character"]: Motif(
            character=m["character"],
            degrees=tuple(int(d) for d in m["degrees"]),
            onsets=tuple(float(o) for o in m["onsets"]),
            lengths=tuple(float(n) for n in m["lengths"]),
        )
        for m in data["motifs"]
    }


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise SoundstageError(
            f"no score at {path.parent} ({path.name} is missing)", hint="compose the score first"
        ) from None
    except (OSError, ValueError) as exc:
        raise SoundstageError(
            f"cannot read {path}: {exc}", hint="compose the score again"
        ) from None


def recompose_cue(
    exporter: Exporter,
    cue_id: str,
    composer: Composer,
    *,
    valence: float | None = None,
    arousal: float | None = None,
    style: str = "auto",
    seed: int | None = None,
    emotion: str = "",
    options: ScoreOptions | None = None,
    folder: str = "score",
) -> Composition:
    """Compose cue `cue_id` of the score that `write_score` wrote under `folder` again.

    `valence`/`arousal` (default: the spotted scene's), `style` and `seed` (default: the one
    `write_score` derived) choose the new music; `emotion` names it in cues.json ("tense").
    The cue keeps its timecodes and its character's leitmotif. Rewritten, through `exporter`:
    the cue's MIDI, MusicXML and WAV (those the score had), score.mid and score.wav (the other
    cues read back from their files, not composed again) and cues.json, whose row for the cue
    gets the new music facts; the spotted emotion of the scene stays as it was.
    """
    prefix = f"{folder}/" if folder else ""
    base = exporter.out_dir / folder if folder else exporter.out_dir
    sheet = _read_json(base / "cues.json")
    cues = [cue_from_row(row) for row in sheet["cues"]]
    index = next((i for i, c in enumerate(cues) if c.cue_id == cue_id), None)
    if index is None:
        known = ", ".join(c.cue_id for c in cues)
        raise SoundstageError(f"the score has no cue {cue_id!r}", hint=f"its cues: {known}")
    cue = cues[index]
    facts = sheet.get("composer", {})
    opts = options or ScoreOptions(
        seed=int(facts.get("seed", 1)),
        sample_rate=int(facts.get("sample_rate", 22050)),
        audio=all((base / f"{c.cue_id}.wav").is_file() for c in cues),
        notation=(base / f"{cue_id}.musicxml").is_file(),
    )
    opts = with_mark(opts)
    changes: dict[str, Any] = {"style": style}
    if valence is not None:
        changes["valence"] = valence
    if arousal is not None:
        changes["arousal"] = arousal
    motifs = read_motifs(_read_json(base / "motifs.json"))
    chosen = cue_seed(opts.seed, cue_id) if seed is None else seed
    request = cue_request(cue, motifs, chosen, **changes)
    check_cue(request.valence, request.arousal, request.seconds, request.style)
    composition = composer.compose(request)
    written = _write_cue(exporter, prefix, cue, composition, opts, [])
    _retime(exporter, prefix, base, cues, (cue_id, composition.piece, written.rendering), opts)
    music = cue_music(composition, written.names, request)
    sheet["cues"][index]["music"] = {**music, "emotion": emotion} if emotion else music
    if written.rendering is not None:
        facts["render_engine"] = written.rendering.engine
        facts["render_note"] = written.rendering.note
    exporter.write_json(f"{prefix}cues.json", sheet)
    return composition


def _retime(
    exporter: Exporter,
    prefix: str,
    base: Path,
    cues: list[Cue],
    new: tuple[str, Piece, Rendering | None],
    opts: ScoreOptions,
) -> None:
    """score.mid and score.wav again: the `new` cue's piece and audio, the others' files."""
    cue_id, piece, rendering = new
    placed: list[tuple[float, Piece]] = []
    renders: list[tuple[float, Rendering]] = []
    for cue in cues:
        offset = parse_timecode(cue.tc_in, cue.fps) / cue.fps
        mine = cue.cue_id == cue_id
        placed.append((offset, piece if mine else read_midi(base / f"{cue.cue_id}.mid")))
        if rendering is not None:
            renders.append((offset, rendering if mine else _read_rendering(base, cue, rendering)))
    _write_timeline(exporter, prefix, cues, placed, renders, opts)


def _read_rendering(base: Path, cue: Cue, like: Rendering) -> Rendering:
    audio = read_wav_bytes((base / f"{cue.cue_id}.wav").read_bytes(), like.sample_rate)
    return Rendering(audio, like.sample_rate, like.engine, like.note)
