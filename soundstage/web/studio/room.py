"""Pages: the writers' room (`/projects`), over `soundstage.script.room.WritersRoom`.

    GET  /projects                       projects, newest first (50 a page); a new-project form
    POST /projects                       a project from a logline and the controls
    GET  /projects/{id}                  the six levels beside the script page, the timeline,
                                         authorship per level, exports
    POST /projects/{id}/write            generate | regenerate | continue a level or entity (a task)
    POST /projects/{id}/regen-stale      regenerate what upstream edits made stale (a task)
    POST /projects/{id}/step             the previous / next alternative of a level or entity
    POST /projects/{id}/edit             replace a level or entity by hand (the CLI's parser)
    GET  /projects/{id}/export/{format}  fountain, fdx, pdf, or the whole package as a zip

Writers (`writer`) do everything; composers (`composer`) read projects to score them. Every
write goes through the same `WritersRoom` calls as `soundstage write …`, with the signed-in
account as the human actor, so the intervention log names who did what.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from soundstage.accounts import Principal
from soundstage.errors import SoundstageError
from soundstage.script import levels
from soundstage.script.controls import GENRES, RATINGS, TONES
from soundstage.script.formats.elements import Document, Kind
from soundstage.script.history import authorship, is_human
from soundstage.script.render import render as render_document
from soundstage.script.room import Draft, ProjectError, WritersRoom, next_level
from soundstage.script.structures import STRUCTURES
from soundstage.script.types import LEVELS, Controls, Screenplay
from soundstage.web.studio.pages import Studio, redirect, render, secured, studio
from soundstage.web.studio.session import PageDenied, page_for, read_form
from soundstage.web.studio.tasks import Progress

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
CONTINUES = ("characters", "scenes", "dialogue")
EXPORTS = {
    "fountain": ("screenplay.fountain", "text/plain; charset=utf-8"),
    "fdx": ("screenplay.fdx", "application/xml"),
    "pdf": ("screenplay.pdf", "application/pdf"),
}
writer = page_for("writer")
reader = page_for("writer", "composer")


def room_for(request: Request, state: Studio, who: Principal) -> WritersRoom:
    return WritersRoom(state.engine, request.app.state.backend, author=who.name)


def load(room: WritersRoom, pid: str) -> Draft:
    try:
        return room.load(pid)
    except ProjectError as exc:
        raise PageDenied(404, exc.message) from None


# -- the project list ----------------------------------------------------------------------


@router.get("/projects")
def project_list(
    request: Request,
    page: int = 1,
    who: Principal = Depends(reader),
    state: Studio = Depends(studio),
) -> Response:
    room = room_for(request, state, who)
    total = room.count()
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, page), pages)
    return render(
        request,
        "projects.html",
        projects=room.projects(PER_PAGE, (page - 1) * PER_PAGE),
        page=page,
        pages=pages,
        total=total,
        form=new_form(),
        errors={},
        may_write=who.may(("writer",)),
    )


def new_form(fields: dict[str, str] | None = None) -> dict[str, Any]:
    values = {"name": "", "logline": "", "genre": "drama", "tone": "earnest"}
    values |= {"rating": "PG-13", "structure": "three-act", "minutes": "10"}
    return {
        "values": values | (fields or {}),
        "genres": list(GENRES),
        "tones": list(TONES),
        "ratings": list(RATINGS),
        "structures": list(STRUCTURES),
    }


@router.post("/projects")
async def project_new(
    request: Request, who: Principal = Depends(writer), state: Studio = Depends(studio)
) -> Response:
    form = await read_form(request)
    errors: dict[str, str] = {}
    try:
        minutes = float(form.get("minutes", "10"))
    except ValueError:
        errors["minutes"] = f"minutes must be a number, not {form.get('minutes')!r}"
        minutes = 10.0
    controls = Controls(
        form.get("genre", ""),
        form.get("tone", ""),
        form.get("rating", ""),
        minutes,
        form.get("structure", ""),  # type: ignore[arg-type]
    )
    if form.get("structure") not in STRUCTURES:
        errors["structure"] = f"unknown structure {form.get('structure')!r}"
    if not errors:
        try:
            room = room_for(request, state, who)
            draft = await run_in_threadpool(
                room.new, form.get("name", "").strip(), form.get("logline", ""), controls
            )
        except SoundstageError as exc:
            errors[field_of(exc.message)] = str(exc)
        else:
            return redirect(request, f"/projects/{draft.project_id}")
    room = room_for(request, state, who)
    total = room.count()
    return render(
        request,
        "projects.html",
        status=400,
        projects=room.projects(PER_PAGE),
        page=1,
        pages=max(1, -(-total // PER_PAGE)),
        total=total,
        form=new_form(form),
        errors=errors,
        may_write=True,
    )


def field_of(message: str) -> str:
    """Which field of the new-project form a library error is about."""
    for name in ("genre", "tone", "rating", "minutes", "structure"):
        if name in message:
            return name
    return "logline"


# -- one project ---------------------------------------------------------------------------


@dataclass
class Block:
    """One editable thing on the page: a level, or an entity of it."""

    level: str
    entity: str  # "" for the whole level
    label: str
    text: str
    stale: bool = False
    position: tuple[int, int] = (0, 0)  # (current alternative, how many), 1-based

    @property
    def key(self) -> str:
        return f"{self.level}-{self.entity or 'all'}"


def level_blocks(room: WritersRoom, draft: Draft) -> dict[str, list[Block]]:
    """Per level: the whole level first, then one block per entity."""
    sp = draft.screenplay
    positions = room.positions(draft.project_id)
    out: dict[str, list[Block]] = {}
    for level in LEVELS:
        blocks = [Block(level, "", level.title(), levels.to_text(sp, level))]
        for entity, label in entities(sp, level):
            text = levels.to_text(sp, level, entity)
            blocks.append(Block(level, entity, label, text, (level, entity) in draft.stale))
        for block in blocks:
            block.position = positions.get((level, block.entity), (0, 0))
        out[level] = blocks
    return out


def entities(sp: Screenplay, level: str) -> list[tuple[str, str]]:
    if level == "characters":
        return [(c.id, c.name) for c in sp.characters]
    if level == "scenes":
        return [(s.id, f"{s.id}: {s.place}") for s in sp.scenes]
    if level == "places":
        return [(p.name, p.name) for p in sp.places]
    if level == "dialogue":
        return [(s.id, f"{s.id}: {s.place}") for s in sp.scenes]
    return []


def page_lines(document: Document) -> list[tuple[str, str]]:
    """The script as the page shows it: (css class, text) per paragraph."""
    shown = {
        Kind.SCENE_HEADING: "scene-heading",
        Kind.ACTION: "action",
        Kind.CHARACTER: "character",
        Kind.PARENTHETICAL: "parenthetical",
        Kind.DIALOGUE: "dialogue",
        Kind.TRANSITION: "transition",
        Kind.CENTERED: "transition",
        Kind.LYRICS: "dialogue",
    }
    return [(shown[e.kind], e.text) for e in document.elements if e.kind in shown]


def project_context(room: WritersRoom, draft: Draft) -> dict[str, Any]:
    sp = draft.screenplay
    log = room.log(draft.project_id)
    shares = authorship(log, sp)
    document = render_document(sp, draft_date=date.today().isoformat())
    timeline = [
        {
            "when": e.ts[:16].replace("T", " "),
            "op": e.op,
            "what": e.level if e.entity == e.level else f"{e.level} {e.entity}",
            "actor": e.actor.split(":", 1)[-1],
            "human": is_human(e.actor),
        }
        for e in reversed(log.entries[-200:])
    ]
    return {
        "draft": draft,
        "sp": sp,
        "blocks": level_blocks(room, draft),
        "levels": LEVELS,
        "continues": CONTINUES,
        "next_level": next_level(sp),
        "stale": sorted(f"{lvl}:{e}" for lvl, e in draft.stale),
        "shares": shares,
        "title_page": document.title_page,
        "lines": page_lines(document),
        "timeline": timeline,
    }


@router.get("/projects/{pid}")
def project_page(
    request: Request, pid: str, who: Principal = Depends(reader), state: Studio = Depends(studio)
) -> Response:
    room = room_for(request, state, who)
    draft = load(room, pid)
    context = project_context(room, draft)
    return render(request, "project.html", **context, errors={}, may_write=who.may(("writer",)))


def target(form: dict[str, str]) -> tuple[str, str | None]:
    """The level and entity a form acts on, checked against the level names."""
    try:
        level = levels.check_level(form.get("level", ""))
    except SoundstageError as exc:
        raise PageDenied(400, exc.message) from None
    return level, form.get("entity") or None


@router.post("/projects/{pid}/write")
async def project_write(
    request: Request, pid: str, who: Principal = Depends(writer), state: Studio = Depends(studio)
) -> Response:
    form = await read_form(request)
    level, entity = target(form)
    op = form.get("op", "generate")
    if op not in ("generate", "regenerate", "continue"):
        raise PageDenied(400, f"unknown operation {op!r}: generate, regenerate or continue")
    room = room_for(request, state, who)
    load(room, pid)
    what = f"{op} {level}" + (f" {entity}" if entity else "")

    def step() -> None:
        if op == "continue":
            room.continue_(pid, level, entity)
        else:
            room.generate(pid, level, entity, op=op)

    return model_task(request, state, who, room, what, f"/projects/{pid}#{level}", step)


@router.post("/projects/{pid}/regen-stale")
async def project_regen_stale(
    request: Request, pid: str, who: Principal = Depends(writer), state: Studio = Depends(studio)
) -> Response:
    await read_form(request)
    room = room_for(request, state, who)
    if not load(room, pid).stale:
        return redirect(request, f"/projects/{pid}")
    step = partial(room.regen_stale, pid)
    return model_task(request, state, who, room, "regenerate stale", f"/projects/{pid}", step)


def model_task(
    request: Request,
    state: Studio,
    who: Principal,
    room: WritersRoom,
    what: str,
    done_url: str,
    step: Callable[[], object],
) -> Response:
    """Run `step` as a task under the model's lock (shared with the /v1 routes), with the
    room's messages as its progress; answer with the task's page."""
    runner = request.app.state.runner

    def work(progress: Progress) -> None:
        room.progress = lambda message: progress(0.5, message)
        progress(0.05, f"waiting for the model: {what}")
        with runner.lock:
            progress(0.1, what)
            step()

    task = state.tasks.submit(who.id, what.capitalize(), done_url, work)
    return redirect(request, f"/tasks/{task.id}")


@router.post("/projects/{pid}/step")
async def project_step(
    request: Request, pid: str, who: Principal = Depends(writer), state: Studio = Depends(studio)
) -> Response:
    form = await read_form(request)
    level, entity = target(form)
    direction = -1 if form.get("direction") == "back" else 1
    room = room_for(request, state, who)
    try:
        await run_in_threadpool(room.step, pid, level, direction, entity)
    except ProjectError as exc:
        return failed(request, room, pid, f"{level}-{entity or 'all'}", str(exc), who)
    return redirect(request, f"/projects/{pid}#{level}")


@router.post("/projects/{pid}/edit")
async def project_edit(
    request: Request, pid: str, who: Principal = Depends(writer), state: Studio = Depends(studio)
) -> Response:
    form = await read_form(request)
    level, entity = target(form)
    text = form.get("text", "")
    room = room_for(request, state, who)
    try:
        await run_in_threadpool(room.edit, pid, level, entity, text)
    except SoundstageError as exc:
        key = f"{level}-{entity or 'all'}"
        return failed(request, room, pid, key, str(exc), who, {key: text})
    return redirect(request, f"/projects/{pid}#{level}")


def failed(
    request: Request,
    room: WritersRoom,
    pid: str,
    key: str,
    message: str,
    who: Principal,
    typed: dict[str, str] | None = None,
) -> Response:
    """The project page again, with `message` next to the form `key` and what was typed."""
    context = project_context(room, load(room, pid))
    return render(
        request,
        "project.html",
        status=400,
        **context,
        errors={key: message},
        typed=typed or {},
        may_write=who.may(("writer",)),
    )


# -- exports ------------------------------------------------------------------------------


@router.get("/projects/{pid}/export/{fmt}")
def project_export(
    request: Request,
    pid: str,
    fmt: str,
    who: Principal = Depends(reader),
    state: Studio = Depends(studio),
) -> Response:
    """One file of the package, or the package as a zip, written by the one export path
    and signed like every export (the zip holds each file with its credentials)."""
    from soundstage.export import Exporter
    from soundstage.produce import export_package
    from soundstage.provenance.signing import screenplay_provenance, sealer

    if fmt not in (*EXPORTS, "zip"):
        raise PageDenied(404, f"no export {fmt!r}: fountain, fdx, pdf or zip")
    room = room_for(request, state, who)
    draft = load(room, pid)
    log = room.log(pid)
    stem = safe_stem(draft.screenplay.title or draft.name or pid)
    with tempfile.TemporaryDirectory(prefix="soundstage-export-") as tmp:
        exporter = Exporter(Path(tmp), generator=f"soundstage / {draft.screenplay.model}")
        about = screenplay_provenance(draft.screenplay, log, pid)
        exporter.seal, _note = sealer(state.settings, about)
        export_package(exporter, draft.screenplay, log)
        if fmt == "zip":
            body, media, name = zipped(Path(tmp)), "application/zip", f"{stem}.zip"
        else:
            file, media = EXPORTS[fmt]
            body, name = (Path(tmp) / file).read_bytes(), f"{stem}{Path(file).suffix}"
    response = Response(body, media_type=media)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return secured(request, response)


AUDIT_CSP = (  # the audit page has no script: inline styles and SVG only
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@router.get("/projects/{pid}/audit")
def project_audit(
    request: Request, pid: str, who: Principal = Depends(reader), state: Studio = Depends(studio)
) -> Response:
    """The representation audit of the project's current draft (docs/audit.md): the same
    self-contained page `soundstage audit script PROJECT --out` writes."""
    from soundstage.audit.report import render_html
    from soundstage.audit.reports.script import script_report
    from soundstage.audit.script import audit_script, cast_from_screenplay

    sp = load(room_for(request, state, who), pid).screenplay
    audit = audit_script(render_document(sp), cast_from_screenplay(sp), title=sp.title)
    response = secured(request, HTMLResponse(render_html(script_report(audit))))
    response.headers["Content-Security-Policy"] = AUDIT_CSP
    return response


def zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def safe_stem(title: str) -> str:
    """A file name from a title: letters, digits and dashes only."""
    stem = "".join(c if c.isascii() and c.isalnum() else "-" for c in title.lower())
    return "-".join(part for part in stem.split("-") if part)[:60] or "screenplay"
