"""Pages: a project's score (`/projects/{id}/score`), for composers.

    GET  /projects/{id}/score               the cue sheet, a player and a piano roll per cue,
                                            the whole score, leitmotifs, downloads; or the
                                            button that composes it
    POST /projects/{id}/score               compose the whole score (a task)
    POST /projects/{id}/score/cues/{cue}    compose one cue again with another emotion, style
                                            or seed (a task)
    GET  /projects/{id}/score/files/{name}  a file of the score: WAV, MIDI, MusicXML, the
                                            piano-roll SVG, cues.json/csv, motifs.json

The score is what `soundstage music score` writes (`music.score.write_score`, through one
`Exporter`), kept under DATA_DIR/studio/scores/{project}/, plus a piano roll per cue
(`music.pianoroll`) and studio.json (which draft it was composed from, by whom, the seed).
A whole score is composed into a fresh folder that then replaces the old one, so the page
never shows half of one (nor stale cues of an older cut); one cue is re-composed in place
(`music.score.recompose_cue`). The composer's model is loaded inside the task, off the request.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response

from soundstage.accounts import Principal
from soundstage.errors import SoundstageError
from soundstage.export import Asset, Exporter, Seal
from soundstage.music.emotion import NAMED, named_emotion
from soundstage.script.room import Draft, ProjectError, WritersRoom
from soundstage.settings import Settings
from soundstage.web.studio.pages import Studio, redirect, render, secured, studio
from soundstage.web.studio.session import PageDenied, page_for, read_form
from soundstage.web.studio.tasks import Progress

router = APIRouter(include_in_schema=False)
composer = page_for("composer")

CUE = re.compile(r"[0-9]{1,3}M[0-9]{2,4}")
FILE = re.compile(  # each with its content credentials sidecar where it has one
    r"(?:(?:[0-9]{1,3}M[0-9]{2,4}|score)\.(?:mid|musicxml|wav|svg)"
    r"|(?:cues|motifs|manifest|studio)\.json|cues\.csv)(?:\.c2pa)?"
)
PROJECT = re.compile(r"[A-Za-z0-9_-]{1,64}")
MEDIA = {
    ".wav": "audio/wav",
    ".mid": "audio/midi",
    ".musicxml": "application/vnd.recordare.musicxml+xml",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".csv": "text/csv; charset=utf-8",
    ".c2pa": "application/c2pa",
}
QUADRANTS = {"Q1": "happy", "Q2": "tense", "Q3": "sad", "Q4": "calm"}
STYLES = ("auto", "chorale", "irish", "fiddle", "air")  # music.frame.STYLES (needs miditok)
MAX_SEED = 2**32 - 1


def score_dir(settings: Settings, project_id: str) -> Path:
    """Where a project's score lives: DATA_DIR/studio/scores/{project}/."""
    if not PROJECT.fullmatch(project_id):
        raise PageDenied(404, "no such project")
    return settings.data_dir / "studio" / "scores" / project_id


async def load_draft(request: Request, state: Studio, who: Principal, pid: str) -> Draft:
    room = WritersRoom(state.engine, request.app.state.backend, author=who.name)
    try:
        return await run_in_threadpool(room.load, pid)
    except ProjectError as exc:
        raise PageDenied(404, exc.message) from None


def unavailable() -> str:
    """Why this server cannot compose ("" when it can)."""
    from soundstage.produce import music_available

    missing = music_available()
    if missing:
        return (
            f"Composing needs the music extra: pip install 'soundstage[music]' (missing {missing})."
        )
    from soundstage.music.generate import DEFAULT_MODEL

    if not (DEFAULT_MODEL / "config.json").is_file():
        return f"The music model is not installed ({DEFAULT_MODEL}): soundstage music train."
    return ""


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------- the page


def file_url(pid: str, folder: Path, name: str) -> str:
    """The file's URL, with its change time so a re-composed file is fetched again."""
    try:
        version = folder.joinpath(name).stat().st_mtime_ns
    except OSError:
        return ""
    return f"/projects/{pid}/score/files/{name}?v={version}"


def emotion_text(valence: float, arousal: float, quadrant: str) -> str:
    return f"{QUADRANTS.get(quadrant, quadrant)} (valence {valence:+.2f}, arousal {arousal:+.2f})"


def cue_view(pid: str, folder: Path, row: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """What the page shows of one cue."""
    music = row.get("music") or {}
    cue = row["cue_id"]
    spotted = emotion_text(row["valence"], row["arousal"], row["quadrant"])
    scored = ""
    if "valence" in music and (music["valence"], music["arousal"]) != (
        row["valence"],
        row["arousal"],
    ):
        named = music.get("emotion") or music.get("quadrant", "")
        scored = f"{named} (valence {music['valence']:+.2f}, arousal {music['arousal']:+.2f})"
    return {
        **row,
        "music": music,
        "spotted": spotted,
        "scored": scored,
        "people": [names.get(c, c) for c in row.get("characters", [])],
        "files": {ext: file_url(pid, folder, f"{cue}.{ext}") for ext in ("wav", "mid", "musicxml")},
        "roll": file_url(pid, folder, f"{cue}.svg"),
        "motif_of": names.get(music.get("motif") or "", music.get("motif") or ""),
    }


def motif_views(folder: Path, cues: list[dict[str, Any]], names: dict[str, str]) -> list[Any]:
    motifs = (read_json(folder / "motifs.json") or {}).get("motifs", [])
    return [
        {
            "character": names.get(m["character"], m["character"]),
            "degrees": " ".join(_degree(d) for d in m["degrees"]),
            "rhythm": " ".join(f"{n:g}" for n in m["lengths"]),
            "cues": [c["cue_id"] for c in cues if c["music"].get("motif") == m["character"]],
        }
        for m in motifs
    ]


def _degree(degree: int) -> str:
    """Scale degree 0 → "1", 7 → "1'" (an octave up), -1 → "7," (an octave down)."""
    octave, step = divmod(degree, 7)
    return str(step + 1) + ("'" * octave if octave > 0 else "," * -octave)


def score_context(pid: str, draft: Draft, folder: Path) -> dict[str, Any]:
    sheet = read_json(folder / "cues.json")
    names = {c.id: c.name for c in draft.screenplay.characters}
    cues = [cue_view(pid, folder, row, names) for row in sheet["cues"]] if sheet else []
    made = read_json(folder / "studio.json") or {}
    return {
        "pid": pid,
        "draft": draft,
        "film": draft.screenplay.title or draft.name,
        "sheet": sheet,
        "cues": cues,
        "motifs": motif_views(folder, cues, names),
        "made": made,
        "changed": bool(made) and made.get("version") != draft.version,
        "whole": {n: file_url(pid, folder, n) for n in ("score.wav", "score.mid", "cues.csv")},
        "named": NAMED,
        "styles": STYLES,
    }


async def score_page(
    request: Request,
    state: Studio,
    who: Principal,
    pid: str,
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    draft = await load_draft(request, state, who, pid)
    folder = score_dir(state.settings, draft.project_id)
    context = await run_in_threadpool(score_context, draft.project_id, draft, folder)
    return render(
        request,
        "score.html",
        status=status,
        problem=await run_in_threadpool(unavailable),
        errors=errors or {},
        **context,
    )


@router.get("/projects/{pid}/score")
async def score(
    request: Request, pid: str, who: Principal = Depends(composer), state: Studio = Depends(studio)
) -> Response:
    return await score_page(request, state, who, pid)


# --------------------------------------------------------------------------- composing


def parse_seed(text: str, default: int) -> int:
    if not text.strip():
        return default
    try:
        seed = int(text.strip())
    except ValueError:
        raise SoundstageError(f"seed {text!r} is not a whole number") from None
    if not 0 <= seed <= MAX_SEED:
        raise SoundstageError(f"seed {seed} is outside 0..{MAX_SEED}")
    return seed


def parse_emotion(form: dict[str, str]) -> tuple[float | None, float | None, str]:
    """(valence, arousal, name) from the form; (None, None, "") keeps the spotted emotion."""
    choice = form.get("emotion", "spotted")
    if choice == "spotted":
        return None, None, ""
    if choice != "custom":
        valence, arousal = named_emotion(choice)
        return valence, arousal, choice
    values = []
    for field in ("valence", "arousal"):
        try:
            value = float(form.get(field, ""))
        except ValueError:
            raise SoundstageError(f"{field} must be a number from -1 to 1") from None
        if not -1.0 <= value <= 1.0:
            raise SoundstageError(f"{field} {value:g} is outside -1..1")
        values.append(value)
    return values[0], values[1], "custom"


def compose_whole(
    screenplay: Any, folder: Path, seed: int, made: dict[str, Any], seal: Seal | None
) -> Callable[[Progress], None]:
    """The task: spot, compose into a fresh folder, add piano rolls, swap it in."""

    def work(progress: Progress) -> None:
        from soundstage.music.pianoroll import piano_roll_svg
        from soundstage.music.score import ScoreOptions, write_score
        from soundstage.music.setup import load_composer
        from soundstage.music.spotting import spot

        progress(0.01, "spotting")
        cues = spot(screenplay)
        progress(0.03, "loading the composer")
        fresh = folder.with_name(f".{folder.name}.{secrets.token_hex(4)}")
        try:
            exporter = Exporter(fresh, seal=seal)
            result = write_score(
                exporter,
                cues,
                load_composer(),
                ScoreOptions(seed=seed),
                progress=lambda done, message: progress(0.05 + 0.9 * done, message),
                folder="",
            )
            for cue, composition in zip(cues, result.compositions, strict=True):
                svg = piano_roll_svg(composition.piece, title=roll_title(cue.cue_id))
                exporter.write_text(f"{cue.cue_id}.svg", svg)
            exporter.write_json("studio.json", {**made, "seed": seed})
            exporter.write_manifest()
            swap_in(fresh, folder)
        finally:
            shutil.rmtree(fresh, ignore_errors=True)
        progress(1.0, f"{len(cues)} cues composed")

    return work


def signer(state: Studio, draft: Draft) -> Seal | None:
    """Content credentials for the score's files, like every export (None: unsigned)."""
    from soundstage.provenance.signing import music_provenance, sealer

    return sealer(state.settings, music_provenance(draft.project_id))[0]


def roll_title(cue_id: str) -> str:
    return f"Piano roll of cue {cue_id}: pitch against time, one colour per instrument"


def swap_in(fresh: Path, folder: Path) -> None:
    """Replace `folder` with `fresh` by two renames: a reader sees the old score or the new
    one (or, between the renames, none: the page then offers to compose)."""
    old = folder.with_name(f".{folder.name}.old.{secrets.token_hex(4)}")
    if folder.exists():
        folder.rename(old)
    fresh.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def made_by(who: Principal, draft: Draft) -> dict[str, Any]:
    return {
        "project": draft.project_id,
        "version": draft.version,
        "by": who.name,
        "at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


@router.post("/projects/{pid}/score")
async def compose(
    request: Request, pid: str, who: Principal = Depends(composer), state: Studio = Depends(studio)
) -> Response:
    form = await read_form(request)
    draft = await load_draft(request, state, who, pid)
    try:
        seed = parse_seed(form.get("seed", ""), draft.seed)
        if not draft.screenplay.scenes:
            raise SoundstageError("the project has no scenes yet: write the scenes level first")
        problem = unavailable()
        if problem:
            raise SoundstageError(problem)
    except SoundstageError as exc:
        return await score_page(request, state, who, pid, 400, {"score": exc.message})
    folder = score_dir(state.settings, draft.project_id)
    task = state.tasks.submit(
        owner=who.id,
        label=f"Composing the score of {draft.screenplay.title or draft.name}",
        done_url=f"/projects/{draft.project_id}/score",
        work=compose_whole(
            draft.screenplay, folder, seed, made_by(who, draft), signer(state, draft)
        ),
    )
    return redirect(request, f"/tasks/{task.id}")


def recompose_one(
    folder: Path, cue_id: str, changes: dict[str, Any], who: str, seal: Seal | None
) -> Callable[[Progress], None]:
    """The task: compose one cue again, redraw its piano roll, update the manifest."""

    def work(progress: Progress) -> None:
        from soundstage.music.pianoroll import piano_roll_svg
        from soundstage.music.score import recompose_cue
        from soundstage.music.setup import load_composer

        progress(0.05, "loading the composer")
        manifest = read_json(folder / "manifest.json") or {}
        assets = [Asset(**a) for a in manifest.get("assets", [])]
        exporter = Exporter(folder, assets=assets, seal=seal)
        progress(0.2, f"composing {cue_id}")
        composition = recompose_cue(exporter, cue_id, load_composer(), folder="", **changes)
        progress(0.9, "piano roll")
        exporter.write_text(
            f"{cue_id}.svg", piano_roll_svg(composition.piece, title=roll_title(cue_id))
        )
        exporter.write_manifest()
        progress(1.0, f"{cue_id} composed again by {who}")

    return work


@router.post("/projects/{pid}/score/cues/{cue}")
async def recompose(
    request: Request,
    pid: str,
    cue: str,
    who: Principal = Depends(composer),
    state: Studio = Depends(studio),
) -> Response:
    form = await read_form(request)
    draft = await load_draft(request, state, who, pid)
    folder = score_dir(state.settings, draft.project_id)
    sheet = await run_in_threadpool(read_json, folder / "cues.json")
    rows = {r["cue_id"]: r for r in (sheet or {}).get("cues", [])}
    if not CUE.fullmatch(cue) or cue not in rows:
        raise PageDenied(404, f"this score has no cue {cue}")
    try:
        valence, arousal, emotion = parse_emotion(form)
        style = form.get("style", "auto")
        if style not in STYLES:
            raise SoundstageError(f"unknown style {style!r}: use one of {', '.join(STYLES)}")
        seed = parse_seed(form.get("seed", ""), int(rows[cue].get("music", {}).get("seed", 0)))
        problem = unavailable()
        if problem:
            raise SoundstageError(problem)
    except SoundstageError as exc:
        return await score_page(request, state, who, pid, 400, {cue: exc.message})
    changes = {"valence": valence, "arousal": arousal, "emotion": emotion, "style": style}
    task = state.tasks.submit(
        owner=who.id,
        label=f"Composing cue {cue} again",
        done_url=f"/projects/{draft.project_id}/score#cue-{cue}",
        work=recompose_one(folder, cue, {**changes, "seed": seed}, who.name, signer(state, draft)),
    )
    return redirect(request, f"/tasks/{task.id}")


# --------------------------------------------------------------------------- files


@router.get("/projects/{pid}/score/files/{name}")
async def score_file(
    request: Request,
    pid: str,
    name: str,
    who: Principal = Depends(composer),
    state: Studio = Depends(studio),
) -> Response:
    if not FILE.fullmatch(name):
        raise PageDenied(404, f"no file {name!r} in a score")
    draft = await load_draft(request, state, who, pid)
    folder = score_dir(state.settings, draft.project_id).resolve()
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file():
        raise PageDenied(404, f"this score has no {name}")
    response = FileResponse(path, media_type=MEDIA[path.suffix])
    response.headers["Cache-Control"] = "no-cache"
    return secured(request, response)
