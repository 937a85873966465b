"""Spotting: a structured screenplay → one cue per scene → a cue sheet (JSON and CSV).

What a spotting session decides by hand (../shared/notes/music.md §3), decided by rule:
- every scene gets one cue (v1); cues are contiguous from 00:00:00:00 and cover the film;
- a scene lasts its share of the rendered pages × 60 s (55 lines a page ≈ 1 minute, the
  same `estimate_pages` as report.md), so the cues add up to the report's runtime;
- a scene shorter than `MIN_SECONDS` (5 s) is given 5 s: a cue shorter than that cannot
  establish anything. That lengthens the film by the difference (`runtime_s` says so);
- boundaries are rounded to whole frames once, cumulatively, so tc_out > tc_in, each cue
  starts where the last ended and the durations sum to the runtime within half a frame;
- cue ids `1M01`: reel (20 minutes of screen time, by the cue's start) + "M" + number
  within the reel, restarting at 01 in each reel;
- usage: the first cue opens the film, so "MT" (main title); the last is "ET" (end
  title); the rest "BI" (background instrumental). A one-scene film gets "MT";
- emotion from the beat (counted twice: the writer's intention), the action and the
  dialogue; see `soundstage.music.emotion`.
Timecode is SMPTE non-drop `HH:MM:SS:FF` at a whole frame rate (24 by default, 25, 30 …).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from soundstage.errors import SoundstageError
from soundstage.export import Exporter
from soundstage.music.emotion import Emotion, analyze
from soundstage.script.formats.elements import Document, Kind
from soundstage.script.render import render
from soundstage.script.report import estimate_pages
from soundstage.script.types import Scene, Screenplay

MIN_SECONDS = 5.0
REEL_SECONDS = 20 * 60
BEAT_WEIGHT = 2.0
MAX_FPS = 120


@dataclass(frozen=True)
class Cue:
    cue_id: str  # "1M01": reel 1, music cue 1
    scene_id: str
    tc_in: str  # SMPTE HH:MM:SS:FF
    tc_out: str
    duration_s: float
    valence: float
    arousal: float
    quadrant: str
    characters: tuple[str, ...]  # Character ids present
    usage: str  # "MT" main title, "BI" background instrumental, "ET" end title
    description: str
    fps: int = 24
    confidence: float = 0.0
    words: tuple[str, ...] = ()  # the words that drove the emotion


def check_fps(fps: int) -> int:
    if isinstance(fps, bool) or not isinstance(fps, int) or not 1 <= fps <= MAX_FPS:
        raise SoundstageError(
            f"frame rate must be a whole number from 1 to {MAX_FPS}, got {fps!r}",
            hint="use 24, 25 or 30 (drop-frame 29.97 is not supported)",
        )
    return fps


def timecode(frames: int, fps: int = 24) -> str:
    """Frames from the start → SMPTE non-drop "HH:MM:SS:FF"."""
    check_fps(fps)
    if frames < 0:
        raise SoundstageError(f"a timecode cannot be negative ({frames} frames)")
    seconds, ff = divmod(frames, fps)
    minutes, ss = divmod(seconds, 60)
    hh, mm = divmod(minutes, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}"


def parse_timecode(tc: str, fps: int = 24) -> int:
    """SMPTE "HH:MM:SS:FF" → frames from the start."""
    check_fps(fps)
    parts = tc.strip().split(":")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        raise SoundstageError(f"not a timecode: {tc!r}", hint="write HH:MM:SS:FF")
    hh, mm, ss, ff = (int(p) for p in parts)
    if mm >= 60 or ss >= 60 or ff >= fps:
        raise SoundstageError(f"timecode {tc!r} is out of range at {fps} fps")
    return ((hh * 60 + mm) * 60 + ss) * fps + ff


def load_screenplay(data: Any) -> Screenplay:
    """A screenplay from its JSON (screenplay.json); a wrong shape is one clear error."""
    if isinstance(data, Screenplay):
        sp = data
    else:
        if not isinstance(data, Mapping):
            raise SoundstageError(
                f"screenplay JSON must be an object, got {type(data).__name__}",
                hint="pass the screenplay.json that `soundstage produce` writes",
            )
        try:
            sp = Screenplay.from_json(dict(data))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0]
            raise SoundstageError(
                f"screenplay JSON has the wrong shape: {what}",
                hint="pass the screenplay.json that `soundstage produce` writes",
            ) from None
    if not sp.scenes:
        raise SoundstageError("the screenplay has no scenes to spot")
    known = {c.id for c in sp.characters}
    ids = [s.id for s in sp.scenes]
    if len(set(ids)) != len(ids):
        raise SoundstageError("screenplay JSON has the wrong shape: scene ids repeat")
    for scene in sp.scenes:
        people = set(scene.characters)
        dialogue = sp.dialogue.get(scene.id)
        people |= {ln.speaker for ln in dialogue.lines} if dialogue else set()
        unknown = sorted(people - known)
        if unknown:
            raise SoundstageError(
                f"screenplay JSON has the wrong shape: scene {scene.id} names unknown "
                f"character {unknown[0]!r}"
            )
    return sp


def scene_pages(document: Document, count: int) -> list[float]:
    """Estimated pages of each scene: the elements from its heading to the next."""
    parts: list[list[Any]] = []
    for element in document.elements:
        if element.kind == Kind.SCENE_HEADING:
            parts.append([])
        if parts and element.kind not in {Kind.SECTION, Kind.CENTERED}:
            parts[-1].append(element)
    if len(parts) != count:
        raise SoundstageError(
            f"the document has {len(parts)} scene headings but the screenplay {count} scenes"
        )
    return [estimate_pages(Document(elements=p)) for p in parts]


def scene_emotion(sp: Screenplay, scene: Scene) -> Emotion:
    dialogue = sp.dialogue.get(scene.id)
    narrative = scene.beat + "\n" + (dialogue.action if dialogue else "")
    speeches = [ln.text for ln in dialogue.lines] if dialogue else []
    return analyze(narrative, speeches, narrative_weight=BEAT_WEIGHT)


def usage(index: int, count: int) -> str:
    if index == 0:
        return "MT"
    return "ET" if index == count - 1 else "BI"


def spot(
    screenplay: Screenplay | Mapping[str, Any],
    *,
    fps: int = 24,
    document: Document | None = None,
    min_seconds: float = MIN_SECONDS,
) -> list[Cue]:
    """One cue per scene, contiguous, timed from the rendered pages (see the module doc)."""
    check_fps(fps)
    sp = load_screenplay(screenplay)
    document = document if document is not None else render(sp)
    pages = scene_pages(document, len(sp.scenes))
    total_pages = sum(pages)
    runtime = estimate_pages(document) * 60.0
    seconds = [max(min_seconds, runtime * p / total_pages if total_pages else 0.0) for p in pages]
    bounds = [0]
    elapsed = 0.0
    for s in seconds:
        elapsed += s
        bounds.append(max(bounds[-1] + 1, round(elapsed * fps)))
    reel_frames = REEL_SECONDS * fps
    cues: list[Cue] = []
    per_reel: dict[int, int] = {}
    for i, scene in enumerate(sp.scenes):
        start, end = bounds[i], bounds[i + 1]
        reel = start // reel_frames + 1
        per_reel[reel] = per_reel.get(reel, 0) + 1
        emotion = scene_emotion(sp, scene)
        cues.append(
            Cue(
                cue_id=f"{reel}M{per_reel[reel]:02d}",
                scene_id=scene.id,
                tc_in=timecode(start, fps),
                tc_out=timecode(end, fps),
                duration_s=round((end - start) / fps, 6),
                valence=emotion.valence,
                arousal=emotion.arousal,
                quadrant=emotion.quadrant,
                characters=tuple(scene.characters),
                usage=usage(i, len(sp.scenes)),
                description=f"{scene.place} - {scene.time}: {scene.beat}".strip(),
                fps=fps,
                confidence=emotion.confidence,
                words=emotion.top_words,
            )
        )
    return cues


def cue_row(cue: Cue) -> dict[str, Any]:
    row = asdict(cue)
    row["characters"] = list(cue.characters)
    row["words"] = list(cue.words)
    return row


def cue_from_row(row: Mapping[str, Any]) -> Cue:
    """A cue back from its row of cues.json (`cue_row`); extra keys ("music") are ignored."""
    try:
        values = {f.name: row[f.name] for f in fields(Cue) if f.name in row}
        values["characters"] = tuple(values.get("characters", ()))
        values["words"] = tuple(values.get("words", ()))
        return Cue(**values)
    except (KeyError, TypeError) as exc:
        raise SoundstageError(f"a cue sheet row has the wrong shape: {exc}") from None


def cue_sheet_json(cues: list[Cue]) -> dict[str, Any]:
    fps = cues[0].fps if cues else 24
    runtime = parse_timecode(cues[-1].tc_out, fps) / fps if cues else 0.0
    return {
        "version": 1,
        "fps": fps,
        "timecode": "SMPTE non-drop HH:MM:SS:FF",
        "runtime_s": round(runtime, 6),
        "cues": [cue_row(c) for c in cues],
    }


CSV_FIELDS = [f.name for f in fields(Cue)]


def cue_sheet_csv(cues: list[Cue]) -> str:
    """One row per cue under a header row; list fields joined with ";"."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for cue in cues:
        row = cue_row(cue)
        row["characters"] = ";".join(cue.characters)
        row["words"] = ";".join(cue.words)
        writer.writerow(row)
    return buffer.getvalue()


def write_cue_sheet(exporter: Exporter, cues: list[Cue], folder: str = "score") -> list[Path]:
    """score/cues.json and score/cues.csv, through the one Exporter."""
    prefix = f"{folder}/" if folder else ""
    return [
        exporter.write_json(f"{prefix}cues.json", cue_sheet_json(cues)),
        exporter.write_text(f"{prefix}cues.csv", cue_sheet_csv(cues)),
    ]
