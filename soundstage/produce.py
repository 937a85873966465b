"""`soundstage produce`: logline in, a folder of finished assets out.

A pipeline of named stages over one `Production` context. Each stage reads what earlier
stages left and adds its part; later capabilities (score, moderation, provenance, audits)
add stages here rather than editing existing ones. Every file goes through the single
`Exporter`, so signing and labelling can wrap all of them.

    plan      levels 1–5: title, characters, scenes, places (script/write/writers.py picks the
              guided writer for the local model, few-shot prompts for other instruction
              LLMs, the structured planner for drama-lm)
    dialogue  level 6 for each scene, with action lines (guided / few-shot / turn by turn)
    moderate  the release gate: every generated text under a moderation policy (by default
              the rating's: `kids` for G and PG, `release` for PG-13 and R); a blocked
              line stops the export when the policy's gate is `stop`
              (moderation.json says what and why); the result goes into report.md
    export    screenplay.fountain / .fdx / .pdf / .json, log.jsonl, report.md, audit.html /
              .json (representation: soundstage.audit), manifest.json
    score     score/: cue sheet (cues.json/.csv), leitmotifs, and per cue MIDI, MusicXML and
              WAV, plus the whole timeline as score.mid / score.wav (music.score)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from soundstage.backends.base import TextBackend
from soundstage.errors import SoundstageError
from soundstage.export import Exporter
from soundstage.moderate.gate import GateResult
from soundstage.provenance.credentials import Provenance
from soundstage.script.controls import check_controls, check_logline, gate_policy
from soundstage.script.formats.elements import Document
from soundstage.script.history import InterventionLog, authorship, entity_texts
from soundstage.script.render import ai_notice, render
from soundstage.script.report import render_report
from soundstage.script.types import Controls, Line, Screenplay
from soundstage.script.write.dialogue import DialogueWriter, scene_budget
from soundstage.script.write.planner import plan
from soundstage.settings import Settings

Progress = Callable[[str, float, str], None]  # (stage, fraction done, message)

PLAN_STEPS = {"title": 0.1, "characters": 0.3, "scenes": 0.6, "places": 0.9}


@dataclass
class Production:
    logline: str
    controls: Controls
    backend: TextBackend
    exporter: Exporter
    seed: int = 1
    author: str = ""
    progress: Progress = field(default=lambda stage, done, message: None)
    screenplay: Screenplay = field(default_factory=Screenplay)
    document: Document = field(default_factory=Document)
    log: InterventionLog = field(default_factory=InterventionLog)
    started: float = field(default_factory=time.perf_counter)
    prompts: dict[str, str] = field(default_factory=dict)  # last prompt sent per level
    score: bool = True  # compose and render the music (cue sheet is always written)
    soundfont: Path | None = None
    notes: list[str] = field(default_factory=list)  # things the user should know (fallbacks)
    policy: str | Path = "release"  # moderation policy for the release gate
    gate: str | None = None  # stop | report | off; None: the policy's own gate mode
    moderation: GateResult | None = None

    def remember(self, level: str, prompt: str, _answer: object) -> None:
        self.prompts[level] = prompt
        if level in PLAN_STEPS:  # an LLM plans level by level: show where it is
            self.progress("plan", PLAN_STEPS[level], level)

    @property
    def actor(self) -> str:
        return f"model:{self.backend.model}"


def stage_plan(p: Production) -> None:
    """Levels 1–5: the guided or few-shot writer for instruct models, else the planner."""
    from soundstage.script.write.writers import choose_writer

    p.progress("plan", 0.0, "title, characters, scenes, places")
    writer = choose_writer(p.backend, on_call=p.remember)
    if writer is not None:
        sp = writer.plan(p.logline, p.controls, p.seed)
        planner_actor = p.actor
    else:
        sp = plan(p.logline, p.controls, seed=p.seed)
        planner_actor = "model:planner"
    sp.author, sp.model = p.author, p.backend.model
    p.log.record("generate", "logline", "logline", f"human:{p.author or 'writer'}", p.logline)
    for level in ("title", "characters", "scenes", "places"):
        for (lvl, entity), text in entity_texts(sp).items():
            if lvl == level:
                p.log.record("generate", lvl, entity, planner_actor, text, p.prompts.get(lvl, ""))
    p.screenplay = sp
    p.progress("plan", 1.0, f"{len(sp.scenes)} scenes, {len(sp.characters)} characters")


def stage_dialogue(p: Production) -> None:
    from soundstage.script.write.writers import choose_writer

    sp = p.screenplay
    llm_writer = choose_writer(p.backend, on_call=p.remember)
    writer = DialogueWriter(p.backend)
    budget = scene_budget(p.controls.minutes, len(sp.scenes))
    for i, scene in enumerate(sp.scenes):
        p.progress("dialogue", i / len(sp.scenes), f"scene {i + 1}/{len(sp.scenes)}")
        prompts: list[str] = []

        def keep_prompt(_line: Line, prompt: str, into: list[str] = prompts) -> None:
            into.append(prompt)

        seed = p.seed * 1000 + i
        if llm_writer is not None:
            dialogue = llm_writer.dialogue(sp, scene, seed)
            prompts.append(p.prompts.get("dialogue", ""))
        else:
            dialogue = writer.write_scene(sp, scene, budget, seed=seed, on_turn=keep_prompt)
        sp.dialogue[scene.id] = dialogue
        text = entity_texts(sp)[("dialogue", scene.id)]
        p.log.record("generate", "dialogue", scene.id, p.actor, text, prompts[0] if prompts else "")
    p.progress("dialogue", 1.0, f"{sum(len(d.lines) for d in sp.dialogue.values())} speeches")


class GateStopped(SoundstageError):
    """The release gate blocked the screenplay; moderation.json says what and why."""


def stage_moderate(p: Production) -> None:
    """Release gate: moderate every generated text; a block under a `stop` gate ends here."""
    if p.gate == "off":
        p.notes.append("moderation skipped (--gate off)")
        return
    from soundstage.moderate.gate import check_release
    from soundstage.moderate.service import Moderator

    p.progress("moderate", 0.0, "release gate")
    moderator = Moderator.load(p.policy)
    p.moderation = result = check_release(p.screenplay, moderator, p.gate)
    p.progress("moderate", 1.0, result.summary())
    if result.decision != "allow":
        p.notes.append(f"moderation: {result.summary()} (see report.md, moderation.json)")
    if result.stop:
        p.exporter.write_json("moderation.json", result.to_json())
        p.exporter.write_manifest()
        blocked = [(w, v) for w, _t, v in result.flagged if v.decision == "block"]
        where, verdict = blocked[0]
        hit = verdict.hits[0] if verdict.hits else None
        why = f"{hit.category} {hit.score:.2f} ≥ {hit.threshold:g}" if hit else "unsupported text"
        raise GateStopped(
            f"release gate ({result.policy}) blocked {len(blocked)} text(s), first {where}: "
            f"{why}; nothing exported but {p.exporter.out_dir / 'moderation.json'}",
            hint="revise those lines (soundstage write …), or pass --gate report to export "
            "with the findings in report.md",
        )


def export_package(
    exporter: Exporter,
    sp: Screenplay,
    log: InterventionLog,
    seconds: float = 0.0,
    moderation: GateResult | None = None,
    about: Provenance | None = None,
) -> Document:
    """Write the screenplay package: fountain, fdx, pdf, json, log, report, audit, disclosure,
    manifest. `about` is what disclosure.json says (default: read from the log)."""
    from soundstage.provenance.signing import screenplay_provenance
    from soundstage.script.formats.fdx import write_fdx
    from soundstage.script.formats.fountain import write_fountain
    from soundstage.script.formats.pdf import write_pdf

    document = render(sp, draft_date=date.today().isoformat())
    exporter.write_text("screenplay.fountain", write_fountain(document))
    exporter.write_bytes("screenplay.fdx", write_fdx(document))
    exporter.write_with(
        "screenplay.pdf", lambda tmp: write_pdf(document, tmp, disclosure=ai_notice(sp))
    )
    exporter.write_json("screenplay.json", sp.to_json())
    exporter.write_text("log.jsonl", log.to_jsonl())
    report = render_report(sp, document, authorship(log, sp), seconds)
    report = report.rstrip("\n") + "\n\n" + write_audit(exporter, sp, document)
    if moderation is not None:
        exporter.write_json("moderation.json", moderation.to_json())
        report = report.rstrip("\n") + "\n\n" + moderation.markdown()
    exporter.write_text("report.md", report)
    package = exporter.out_dir.name
    write_disclosure(exporter, about or screenplay_provenance(sp, log, package))
    exporter.write_manifest()
    return document


def write_audit(exporter: Exporter, sp: Screenplay, document: Document) -> str:
    """audit.html and audit.json (representation in the script); returns report.md's part."""
    from soundstage.audit.report import write_report
    from soundstage.audit.reports.script import markdown, script_report
    from soundstage.audit.script import audit_script, cast_from_screenplay

    audit = audit_script(document, cast_from_screenplay(sp), title=sp.title)
    write_report(exporter, script_report(audit))
    return markdown(audit)


def stage_export(p: Production) -> None:
    p.progress("export", 0.0, "fountain, fdx, pdf, json, log, report")
    seconds = time.perf_counter() - p.started
    p.document = export_package(
        p.exporter, p.screenplay, p.log, seconds, p.moderation, provenance(p)
    )
    p.progress("export", 1.0, "written")


def music_available() -> str:
    """ "" when the music extra is installed, else what is missing."""
    import importlib.util

    missing = [m for m in ("miditok", "symusic") if importlib.util.find_spec(m) is None]
    return ", ".join(missing)


def stage_score(p: Production) -> None:
    """Spotting, then one composed, rendered cue per scene: score/ (see music.score)."""
    from soundstage.music.spotting import spot, write_cue_sheet

    p.progress("score", 0.0, "spotting")
    cues = spot(p.screenplay, document=p.document)
    write_cue_sheet(p.exporter, cues)
    missing = music_available()
    if not p.score or missing:
        write_disclosure(p.exporter, provenance(p))
        p.exporter.write_manifest()
        why = "--no-score" if not p.score else f"install soundstage[music] (missing {missing})"
        p.progress("score", 1.0, f"{len(cues)} cues spotted; music skipped: {why}")
        if missing:
            p.notes.append(f"music skipped: {why}")
        return
    from soundstage.music.score import ScoreOptions, write_score
    from soundstage.music.setup import load_composer

    options = ScoreOptions(seed=p.seed, soundfont=p.soundfont)
    result = write_score(
        p.exporter,
        cues,
        load_composer(),
        options,
        progress=lambda done, message: p.progress("score", done, message),
    )
    write_disclosure(p.exporter, provenance(p))
    p.exporter.write_manifest()
    if result.render_note:
        p.notes.append(f"score audio: {result.render_note}")
    p.progress("score", 1.0, f"{len(cues)} cues, {result.render_engine or 'no'} audio")


def provenance(p: Production) -> Provenance:
    """What the production's files say about how they were made, as far as it has got."""
    from soundstage.provenance.signing import MUSIC_MODEL, screenplay_provenance

    found = screenplay_provenance(
        p.screenplay, p.log, p.exporter.out_dir.name, music=MUSIC_MODEL if p.score else ""
    )
    gate = p.moderation
    if gate is None:
        return found
    verdict = {
        "policy": gate.policy,
        "model": gate.model,
        "decision": gate.decision,
        "checked": gate.checked,
        "flagged": len(gate.flagged),
    }
    return replace(found, models={**found.models, "moderation": gate.model}, moderation=verdict)


def sign(p: Production, settings: Settings) -> None:
    """Seal every file the production exports; what the manifests say is read from the
    production when each file is written (the verdict comes after the script)."""
    from soundstage.provenance.signing import sealer

    p.exporter.seal, note = sealer(settings, lambda: provenance(p))
    if note:
        p.notes.append(note)


def write_disclosure(exporter: Exporter, about: Provenance) -> None:
    from soundstage.provenance.disclosure import DISCLOSURE, disclosure

    exporter.write_json(DISCLOSURE, disclosure(exporter.assets, about))


STAGES: list[tuple[str, Callable[[Production], None]]] = [
    ("plan", stage_plan),
    ("dialogue", stage_dialogue),
    ("moderate", stage_moderate),
    ("export", stage_export),
    ("score", stage_score),
]


def produce(
    logline: str,
    out_dir: Path,
    backend: TextBackend,
    controls: Controls | None = None,
    *,
    seed: int = 1,
    author: str = "",
    progress: Progress | None = None,
    score: bool = True,
    soundfont: Path | None = None,
    policy: str | Path | None = None,
    gate: str | None = None,
    settings: Settings | None = None,
) -> Production:
    """Write, check, export and score a script. With `settings`, every file is signed with
    that installation's content credentials (soundstage.provenance)."""
    text = check_logline(logline)
    controls = check_controls(controls or Controls())
    if gate not in (None, "stop", "report", "off"):
        raise SoundstageError(f"unknown gate mode {gate!r}", hint="use stop, report or off")
    p = Production(
        text,
        controls,
        backend,
        Exporter(out_dir, generator=f"soundstage / {backend.model}"),
        seed=seed,
        author=author,
        score=score,
        soundfont=soundfont,
        policy=policy or gate_policy(controls),
        gate=gate,
    )
    if progress:
        p.progress = progress
    if settings is not None:
        sign(p, settings)
    for _name, stage in STAGES:
        stage(p)
    return p
