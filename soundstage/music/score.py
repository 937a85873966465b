"""The film score: spotted cues → leitmotifs → composed, rendered cues → score/ (one Exporter).

    score/cues.json, cues.csv    the cue sheet (+ per-cue music facts: key, tempo, form, motif)
    score/motifs.json            each main character's leitmotif (scale degrees + rhythm)
    score/1M01.mid, .musicxml    each cue as MIDI and as notation
    score/1M01.wav               each cue rendered, exactly as long as its in→out timecodes
    score/score.mid, score.wav   the whole timeline: every cue at its timecode

Motifs go to the characters who appear in the most scenes (up to `max_motifs`); a cue quotes the
motif of the first such character in its scene. Seeds derive from the production seed and the cue
id, so re-running a production reproduces its score.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soundstage.export import Exporter
from soundstage.music.compose import Composer, Composition, CueRequest
from soundstage.music.leitmotif import Motif, make_motif
from soundstage.music.midi_io import to_score
from soundstage.music.spotting import Cue, cue_sheet_csv, cue_sheet_json, parse_timecode
from soundstage.music.types import Note, Piece, Track

Progress = Callable[[float, str], None]


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


def cue_music(composition: Composition, files: list[str]) -> dict[str, Any]:
    return {**composition.summary(), "files": files}


def write_score(
    exporter: Exporter,
    cues: list[Cue],
    composer: Composer,
    options: ScoreOptions | None = None,
    progress: Progress | None = None,
    folder: str = "score",
) -> Score:
    from soundstage.music.render import mix, render, wav_bytes

    opts = options or ScoreOptions()
    report = progress or (lambda done, message: None)
    prefix = f"{folder}/" if folder else ""
    motifs: dict[str, Motif] = {}
    for name in main_characters(cues, opts.max_motifs):
        motifs[name] = make_motif(composer.model, name, seed=opts.seed)
    score = Score(cues=cues, compositions=[], motifs=motifs)
    renders = []
    placed: list[tuple[float, Piece]] = []
    music: list[dict[str, Any]] = []
    for i, cue in enumerate(cues):
        report(i / max(1, len(cues)), f"{cue.cue_id} ({cue.duration_s:.0f} s)")
        lead = next((c for c in cue.characters if c in motifs), None)
        request = CueRequest(
            valence=cue.valence,
            arousal=cue.arousal,
            seconds=cue.duration_s,
            seed=cue_seed(opts.seed, cue.cue_id),
            motif=motifs.get(lead) if lead else None,
            title=f"{cue.cue_id} {cue.description}".strip(),
        )
        composition = composer.compose(request)
        score.compositions.append(composition)
        names = [f"{prefix}{cue.cue_id}.mid"]
        score.files.append(exporter.write_bytes(names[0], midi_bytes(composition.piece)))
        if opts.notation:
            from soundstage.music.musicxml import to_musicxml

            names.append(f"{prefix}{cue.cue_id}.musicxml")
            score.files.append(exporter.write_bytes(names[-1], to_musicxml(composition.piece)))
        offset = parse_timecode(cue.tc_in, cue.fps) / cue.fps
        placed.append((offset, composition.piece))
        if opts.audio:
            rendering = render(
                composition.piece,
                sample_rate=opts.sample_rate,
                engine=opts.engine,
                soundfont=opts.soundfont,
                seconds=cue.duration_s,
            )
            score.render_note, score.render_engine = rendering.note, rendering.engine
            names.append(f"{prefix}{cue.cue_id}.wav")
            score.files.append(exporter.write_bytes(names[-1], wav_bytes(rendering)))
            renders.append((offset, rendering))
        music.append(cue_music(composition, names))
    report(0.95, "timeline")
    runtime = parse_timecode(cues[-1].tc_out, cues[-1].fps) / cues[-1].fps if cues else 0.0
    score.files.append(exporter.write_bytes(f"{prefix}score.mid", midi_bytes(timeline(placed))))
    if opts.audio and renders:
        full = mix(renders, runtime, opts.sample_rate)
        score.files.append(exporter.write_bytes(f"{prefix}score.wav", wav_bytes(full)))
    sheet = cue_sheet_json(cues)
    for row, facts in zip(sheet["cues"], music, strict=True):
        row["music"] = facts
    sheet["composer"] = {
        "model": composer.model.dir.name,
        "critic": composer.critic is not None,
        "render_engine": score.render_engine,
        "render_note": score.render_note,
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
