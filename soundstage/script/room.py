"""The writers' room: versioned screenplay projects and the co-writing operations.

Every operation reads the project's newest version, changes one level (or one entity of
it) and appends a new version in one transaction: the whole draft, who acted (`human:…`
or `model:…`), the prompt, a line diff, and which lower entities are now stale. Nothing
is overwritten, so history, the intervention log and authorship are read from versions.

    generate     write a level (or one scene's dialogue) from the upper levels; each call
                 uses a new seed, so generating again gives an alternative
    continue     more of the same: another character, another scene, more dialogue
    edit         replace a level or entity by hand; parsed and validated against the draft
    regen_stale  regenerate what an upper-level edit made stale, upper levels first
    step         move back/forward through a level's alternatives (a `restore` version)
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar, cast

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from soundstage.backends.base import TextBackend
from soundstage.errors import SoundstageError
from soundstage.script import levels
from soundstage.script.controls import check_controls, check_logline
from soundstage.script.formats.scene_import import ImportedScene
from soundstage.script.history import (
    Intervention,
    InterventionLog,
    Op,
    entity_texts,
    line_diff,
)
from soundstage.script.structures import beats, cast_size, scene_count
from soundstage.script.types import (
    LEVELS,
    Character,
    Controls,
    Level,
    Line,
    Place,
    Scene,
    Screenplay,
)
from soundstage.script.write.dialogue import DialogueWriter, scene_budget
from soundstage.script.write.guided import GuidedWriter, speeches_for
from soundstage.script.write.planner import (
    CAST_ORDER,
    beat_sentence,
    make_cast,
    make_places,
    make_scenes,
    title_options,
)
from soundstage.script.write.writers import Writer, choose_writer
from soundstage.store.schema import Project, ProjectVersion, utcnow

Stale = frozenset[tuple[str, str]]
T = TypeVar("T")


class ProjectError(SoundstageError):
    """Unknown project or entity, or an operation a level does not support."""


@dataclass(frozen=True)
class Draft:
    """A project's newest version."""

    project_id: str
    name: str
    version: int
    seed: int
    screenplay: Screenplay
    stale: Stale = frozenset()


def dependants(sp: Screenplay, level: Level, entity: str | None) -> Stale:
    """Entities written from (level, entity) that an edit to it makes stale."""
    written = set(entity_texts(sp))
    if level == "logline":
        return frozenset(k for k in written if k[0] not in {"logline", "title"})
    out: set[tuple[str, str]] = set()
    for scene in sp.scenes:
        if level == "characters" and (entity is None or entity in scene.characters):
            out |= {("scenes", scene.id), ("dialogue", scene.id)}
        elif level == "scenes" and entity in (None, scene.id):
            out.add(("dialogue", scene.id))
        elif level == "places" and entity in (None, scene.place):
            out.add(("dialogue", scene.id))
    return frozenset(out & written)


def next_level(sp: Screenplay) -> Level | None:
    """The first level not written yet: what `write step` generates next."""
    if not sp.title:
        return "title"
    only_kept = lambda level, keys: all(sp.is_kept(level, k) for k in keys)  # noqa: E731
    if not sp.characters or (
        only_kept("characters", [c.id for c in sp.characters])
        and len(sp.characters) < cast_size(sp.controls)
    ):
        return "characters"
    if not sp.scenes or (
        only_kept("scenes", [s.id for s in sp.scenes])
        and len(sp.scenes) < scene_count(sp.controls.minutes)
    ):
        return "scenes"
    if {s.place for s in sp.scenes} - {p.name for p in sp.places}:
        return "places"
    if any(s.id not in sp.dialogue for s in sp.scenes):
        return "dialogue"
    return None


def extra_scene(sp: Screenplay, rng: random.Random) -> Scene:
    """One more scene after the last: the last beat again, a fresh place and company."""
    last = sp.scenes[-1] if sp.scenes else None
    sheet = beats(sp.controls.structure)
    beat = next((b for b in sheet if last and b.name == last.plot_element), sheet[-1])
    hero, rest = sp.characters[0], sp.characters[1:]
    others = rng.sample(rest, min(len(rest), rng.choice([1, 2]))) if rest else []
    place = rng.choice(sp.places).name if sp.places else "UNKNOWN"
    numbers = [int(s.id[1:]) for s in sp.scenes if s.id[1:].isdigit()]
    return Scene(
        id=f"s{max(numbers, default=0) + 1}",
        place=place,
        plot_element=beat.name,
        beat=beat_sentence(beat.purpose, hero, others),
        characters=(hero.id, *(o.id for o in others)),
        time=rng.choice(["DAY", "NIGHT"]),
    )


def keep_cast(kept: list[Character], written: list[Character], size: int) -> list[Character]:
    """The writer's characters, then the generated ones that are new, up to the cast size."""
    names = {c.name for c in kept} | {c.id for c in kept}
    fresh = [c for c in written if c.name not in names and c.id not in names]
    fresh = fresh[: max(0, size - len(kept))]
    open_roles = [r for r in CAST_ORDER if r not in {c.role for c in kept}]
    fresh = [  # a second protagonist is a writer's choice, never a generator's
        replace(c, role=open_roles[i]) if i < len(open_roles) else c for i, c in enumerate(fresh)
    ]
    return kept + fresh


def keep_scenes(kept: list[Scene], written: list[Scene]) -> list[Scene]:
    """The generated outline with the writer's scenes at their numbers (s2 is the second),
    each taking the structure beat of the slot it fills."""
    out = list(written)
    for scene in kept:
        i = int(scene.id[1:]) - 1
        if i < len(out):
            out[i] = replace(scene, plot_element=scene.plot_element or out[i].plot_element)
        else:
            out.append(scene)
    return out


def kept_names(sp: Screenplay) -> set[str]:
    return {p.name for p in sp.places if sp.is_kept("places", p.name)}


def swap_in(current: list[T], parsed: list[T], entity: str | None, key: str) -> list[T]:
    """Whole-level edit: the parsed list. Entity edit: that one item replaced, keeping its key."""
    if entity is None:
        return parsed
    if len(parsed) != 1:
        raise ProjectError(f"editing {entity!r} takes exactly one block, got {len(parsed)}")
    new = replace(parsed[0], **{key: entity})  # type: ignore[type-var]
    return [new if getattr(item, key) == entity else item for item in current]


def copy(sp: Screenplay) -> Screenplay:
    return Screenplay.from_json(sp.to_json())


@dataclass
class WritersRoom:
    engine: Engine
    backend: TextBackend
    author: str = "writer"
    progress: Callable[[str], None] = field(default=lambda message: None)
    _prompts: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    @property
    def human(self) -> str:
        return f"human:{self.author}"

    @property
    def model(self) -> str:
        return f"model:{self.backend.model}"

    # --- storage ---------------------------------------------------------------------------

    def new(
        self,
        name: str,
        logline: str,
        controls: Controls,
        seed: int = 1,
        scene: ImportedScene | None = None,
    ) -> Draft:
        """A project from a logline; with `scene` (bottom-up), that scene's characters, the
        scene, its place and its dialogue too, as the writer's and kept when their levels
        are generated."""
        text = check_logline(logline)
        controls = check_controls(controls)
        if scene is not None:
            count = scene_count(controls.minutes)
            if int(scene.scene.id[1:]) > count:
                raise ProjectError(
                    f"scene {scene.scene.id[1:]} of a {controls.minutes:g}-minute script, which "
                    f"has {count} scenes",
                    hint=f"--at 1 to {count}",
                )
        sp = Screenplay(text, controls=controls, author=self.author, model=self.backend.model)
        pid = secrets.token_hex(6)
        with Session(self.engine) as s, s.begin():
            s.add(Project(id=pid, name=name or text[:60], head=0, seed=seed))
        empty = Draft(pid, name, 0, seed, Screenplay(controls=controls))
        draft = self._commit(empty, sp, "generate", "logline", "logline", self.human)
        return draft if scene is None else self._start_from(draft, scene)

    def _start_from(self, draft: Draft, imported: ImportedScene) -> Draft:
        sp = copy(draft.screenplay)
        sp.characters = list(imported.characters)
        sp.kept += [f"characters:{c.id}" for c in imported.characters]
        draft = self._commit(draft, sp, "edit", "characters", "characters", self.human)
        sp = copy(sp)
        sp.scenes, sp.places = [imported.scene], [imported.place]
        sp.kept += [f"scenes:{imported.scene.id}", f"places:{imported.place.name}"]
        draft = self._commit(draft, sp, "edit", "scenes", "scenes", self.human)
        sp = copy(sp)
        sp.dialogue[imported.scene.id] = imported.dialogue
        sp.kept.append(f"dialogue:{imported.scene.id}")
        return self._commit(draft, sp, "edit", "dialogue", imported.scene.id, self.human)

    def load(self, project: str) -> Draft:
        return load_draft(self.engine, project)

    def projects(self, limit: int | None = None, offset: int = 0) -> list[Project]:
        """Projects, most recently changed first; `limit`/`offset` for one page of them."""
        query = select(Project).order_by(Project.updated_at.desc(), Project.id)
        with Session(self.engine, expire_on_commit=False) as s:
            return list(s.scalars(query.limit(limit).offset(offset)).all())

    def count(self) -> int:
        with Session(self.engine) as s:
            return s.scalar(select(func.count()).select_from(Project)) or 0

    def versions(self, project: str, level: str | None = None) -> list[ProjectVersion]:
        with Session(self.engine, expire_on_commit=False) as s:
            row = self._find(s, project)
            query = select(ProjectVersion).where(ProjectVersion.project_id == row.id)
            if level:
                query = query.where(ProjectVersion.level == levels.check_level(level))
            return list(s.scalars(query.order_by(ProjectVersion.version)).all())

    def log(self, project: str) -> InterventionLog:
        """The intervention log, rebuilt from the versions, one entry per entity touched.

        A level-wide version (entity == level, e.g. "generate characters") becomes one
        entry per entity of that level it changed, so authorship can attribute every
        character (and a character the writer wrote first stays theirs).
        """
        out = InterventionLog()
        before: dict[tuple[Level, str], str] = {}
        for v in self.versions(project):
            level = levels.check_level(v.level)
            texts = entity_texts(Screenplay.from_json(v.screenplay))
            keys = [k for k in texts if k[0] == level and (v.entity in (level, k[1]))]
            if v.entity == level and v.op != "restore":  # only what this version changed:
                keys = [k for k in keys if texts[k] != before.get(k)]  # kept entities stay
            before = texts
            for key in keys or [(level, v.entity)]:
                out.entries.append(
                    Intervention(
                        v.created_at.isoformat(),
                        cast(Op, v.op),
                        level,
                        key[1],
                        v.actor,
                        texts.get(key, ""),
                        v.prompt,
                        v.diff,
                    )
                )
        return out

    def _find(self, s: Session, project: str) -> Project:
        return find_project(s, project)

    def _commit(
        self,
        draft: Draft,
        sp: Screenplay,
        op: str,
        level: Level,
        entity: str,
        actor: str,
        prompt: str = "",
        stale: Stale = frozenset(),
    ) -> Draft:
        key = (level, entity)
        diff = line_diff(entity_texts(draft.screenplay).get(key, ""), entity_texts(sp).get(key, ""))
        now_stale = (draft.stale | stale) - {key}
        with Session(self.engine) as s, s.begin():
            row = s.get(Project, draft.project_id, with_for_update=True)
            if row is None or row.head != draft.version:
                raise ProjectError("the project changed while this ran; load it and try again")
            row.head += 1
            row.updated_at = utcnow()
            s.add(
                ProjectVersion(
                    project_id=row.id,
                    version=row.head,
                    op=op,
                    level=level,
                    entity=entity,
                    actor=actor,
                    prompt=prompt,
                    diff=diff,
                    screenplay=sp.to_json(),
                    stale=sorted([a, b] for a, b in now_stale),
                )
            )
            version = row.head
        return Draft(draft.project_id, draft.name, version, draft.seed, sp, frozenset(now_stale))

    # --- operations ------------------------------------------------------------------------

    def generate(
        self, project: str, level: str, entity: str | None = None, *, op: str = "generate"
    ) -> Draft:
        lvl = levels.check_level(level)
        draft = self.load(project)
        sp = copy(draft.screenplay)
        seed = draft.seed * 100_003 + draft.version
        rng = random.Random(seed)
        self._require_upper(sp, lvl)
        if lvl == "dialogue":
            return self._write_dialogue(draft, entity, seed, op)
        if lvl == "logline":
            raise ProjectError("the logline is the writer's: use `write edit PROJECT logline`")
        llm = self._llm_writer()
        kept_cast = [c for c in sp.characters if sp.is_kept("characters", c.id)]
        kept_scenes = [x for x in sp.scenes if sp.is_kept("scenes", x.id)]
        kept_places = [p for p in sp.places if sp.is_kept("places", p.name)]
        if lvl == "characters":  # the writer's own come first; the rest is written around them
            sp.characters = kept_cast
        if lvl == "scenes":
            sp.scenes = kept_scenes
        if llm is not None:
            if lvl == "title":
                sp.title = llm.title(sp, seed)
            elif lvl == "characters":
                sp.characters = llm.characters(sp, seed)
            elif lvl == "scenes":
                sp.scenes, sp.places = llm.scenes(sp, seed)
            else:
                sp.places = llm.places(sp, seed)
        elif lvl == "title":
            options = title_options(sp.logline)
            tried = {
                Screenplay.from_json(v.screenplay).title for v in self.versions(project, "title")
            }
            sp.title = next((t for t in options if t not in tried), rng.choice(options))
        elif lvl == "characters":
            sp.characters = make_cast(sp.logline, sp.controls, rng)
        elif lvl == "scenes":
            sp.places = make_places(sp.logline, sp.controls, scene_count(sp.controls.minutes), rng)
            sp.scenes = make_scenes(sp.controls, sp.characters, sp.places, rng)
        else:  # places: describe every place a scene uses
            known = {p.name for p in sp.places}
            used = [s.place for s in sp.scenes]
            sp.places = [p for p in sp.places if p.name in used]
            sp.places += [Place(n) for n in dict.fromkeys(used) if n not in known]
        if lvl == "characters":
            sp.characters = keep_cast(kept_cast, sp.characters, cast_size(sp.controls))
        elif lvl == "scenes":
            sp.scenes = keep_scenes(kept_scenes, sp.scenes)
            sp.places = kept_places + [p for p in sp.places if p.name not in kept_names(sp)]
        stale = dependants(draft.screenplay, lvl, None)
        if lvl == "scenes":  # the outline chose its places too: log them as their own version
            with_places = copy(draft.screenplay)
            with_places.places = sp.places
            draft = self._commit(draft, with_places, op, "places", "places", self.model)
        prompt = self._prompts.get(lvl, "")
        return self._commit(draft, sp, op, lvl, lvl, self.model, prompt, stale=stale)

    def _llm_writer(self) -> Writer | None:
        """The guided or few-shot writer for instruct backends; None for drama-lm."""
        return choose_writer(self.backend, on_call=self._remember)

    def _remember(self, level: str, prompt: str, _answer: object) -> None:
        self._prompts[level] = prompt

    def _write_dialogue(
        self, draft: Draft, entity: str | None, seed: int, op: str, extend: bool = False
    ) -> Draft:
        sp = draft.screenplay
        scenes = [s for s in sp.scenes if entity in (None, s.id)]
        if entity is None:  # the whole level: not the scenes the writer wrote first
            scenes = [s for s in scenes if not sp.is_kept("dialogue", s.id)]
        if not scenes and entity is None:
            raise ProjectError(
                "every scene's dialogue is the writer's own; name a scene to redo one"
            )
        if not scenes:
            raise ProjectError(
                f"no scene {entity!r}", hint="`write show PROJECT scenes` lists them"
            )
        writer = DialogueWriter(self.backend)
        budget = scene_budget(sp.controls.minutes, len(sp.scenes))
        for i, scene in enumerate(scenes):
            self.progress(f"dialogue {scene.id} ({i + 1}/{len(scenes)})")
            prompts: list[str] = []

            def keep(_line: Line, prompt: str, into: list[str] = prompts) -> None:
                into.append(prompt)

            sp = copy(draft.screenplay)
            llm = self._llm_writer()
            if isinstance(llm, GuidedWriter):
                # The guided writer continues a scene itself: it sees the speeches so far.
                start = sp.dialogue[scene.id].lines if extend and scene.id in sp.dialogue else ()
                more = max(3, speeches_for(sp.controls.minutes, len(sp.scenes)) // 2)
                sp.dialogue[scene.id] = llm.dialogue(
                    sp, scene, seed + i, start=start, speeches=more if extend else None
                )
                prompts.append(self._prompts.get("dialogue", ""))
            elif llm is not None and not extend:
                sp.dialogue[scene.id] = llm.dialogue(sp, scene, seed + i)
                prompts.append(self._prompts.get("dialogue", ""))
            else:
                # Continuing goes turn by turn with any backend: the play-format prompt
                # extends the scene's existing speeches.
                start = sp.dialogue[scene.id].lines if extend and scene.id in sp.dialogue else ()
                new_budget = max(8, budget // 2) if extend else budget
                sp.dialogue[scene.id] = writer.write_scene(
                    sp, scene, new_budget, seed + i, on_turn=keep, start=start
                )
            first = prompts[0] if prompts else ""
            draft = self._commit(draft, sp, op, "dialogue", scene.id, self.model, first)
        return draft

    def continue_(self, project: str, level: str, entity: str | None = None) -> Draft:
        lvl = levels.check_level(level)
        draft = self.load(project)
        seed = draft.seed * 100_003 + draft.version
        if lvl == "dialogue":
            if not entity:
                raise ProjectError("continuing dialogue needs a scene id, e.g. s2")
            self._entity(draft.screenplay, lvl, entity)
            return self._write_dialogue(draft, entity, seed, "continue", extend=True)
        if lvl == "characters":
            sp = copy(draft.screenplay)
            taken = {c.id for c in sp.characters}
            wide = replace(sp.controls, minutes=240.0)
            extra = [
                c for c in make_cast(sp.logline, wide, random.Random(seed)) if c.id not in taken
            ]
            if not extra:
                raise ProjectError("no more names to draw; add a character with `write edit`")
            sp.characters.append(replace(extra[0], role="supporting"))
            return self._commit(draft, sp, "continue", "characters", extra[0].id, self.model)
        if lvl == "scenes":
            sp = copy(draft.screenplay)
            self._require_upper(sp, "scenes")
            sp.scenes.append(extra_scene(sp, random.Random(seed)))
            added = sp.scenes[-1]
            if added.place not in {p.name for p in sp.places}:
                sp.places.append(Place(added.place))
            return self._commit(draft, sp, "continue", "scenes", added.id, self.model)
        raise ProjectError(f"continue works on characters, scenes and dialogue, not {lvl}")

    def edit(self, project: str, level: str, entity: str | None, text: str) -> Draft:
        """Replace a level, or one entity of it, with hand-written text."""
        lvl = levels.check_level(level)
        draft = self.load(project)
        sp = copy(draft.screenplay)
        where = f"{lvl}:{entity}" if entity else lvl
        if entity:
            self._entity(sp, lvl, entity)
        if lvl == "logline":
            sp.logline = check_logline(text)
        elif lvl == "title":
            title = " ".join(text.split())
            if not 0 < len(title) <= 200:
                raise ProjectError("a title is one line of 1 to 200 characters")
            sp.title = title
        elif lvl == "characters":
            people = levels.parse_characters(sp, text, where)
            sp.characters = swap_in(sp.characters, people, entity, "id")
            if not entity:
                self._check_cast(sp)
        elif lvl == "scenes":
            scenes = levels.parse_scenes(sp, text, where)
            sp.scenes = swap_in(sp.scenes, scenes, entity, "id")
            if not entity:
                sp.dialogue = {k: v for k, v in sp.dialogue.items() if k in {s.id for s in scenes}}
        elif lvl == "places":
            sp.places = swap_in(sp.places, levels.parse_places(sp, text, where), entity, "name")
        else:
            if not entity:
                raise ProjectError("editing dialogue needs a scene id, e.g. s2")
            scene = next(s for s in sp.scenes if s.id == entity)
            sp.dialogue[entity] = levels.parse_dialogue(sp, scene, text, where)
        stale = dependants(sp, lvl, entity)
        return self._commit(draft, sp, "edit", lvl, entity or lvl, self.human, stale=stale)

    def regen_stale(self, project: str) -> Draft:
        """Regenerate every stale entity, upper levels first (scenes before dialogue)."""
        draft = self.load(project)
        for level in LEVELS:
            todo = sorted(e for lvl, e in draft.stale if lvl == level)
            if not todo:
                continue
            if level == "dialogue":
                for scene_id in todo:
                    draft = self.generate(project, "dialogue", scene_id, op="regenerate")
            else:
                draft = self.generate(project, level, op="regenerate")
        return draft

    def alternatives(
        self, project: str, level: str, entity: str | None = None
    ) -> tuple[list[Screenplay], int]:
        """The distinct texts a level (or entity) has had, oldest first, as the drafts that
        held them, and the index of the current one: what `step` moves through."""
        lvl = levels.check_level(level)
        draft = self.load(project)
        if entity:
            self._entity(draft.screenplay, lvl, entity)
        seen: dict[str, Screenplay] = {}
        for v in self.versions(project, lvl):
            if entity and v.entity != entity:
                continue
            candidate = Screenplay.from_json(v.screenplay)
            seen.setdefault(levels.to_text(candidate, lvl, entity), candidate)
        current = levels.to_text(draft.screenplay, lvl, entity)
        texts = list(seen)
        at = texts.index(current) if current in seen else len(texts) - 1
        return list(seen.values()), at

    def positions(self, project: str) -> dict[tuple[str, str], tuple[int, int]]:
        """For every level ("" entity) and entity with a history: (current alternative,
        how many), 1-based, as `alternatives` counts them; one pass over the versions."""
        draft = self.load(project)
        seen: dict[tuple[str, str], list[str]] = {}
        for v in self.versions(project):
            lvl = levels.check_level(v.level)
            sp = Screenplay.from_json(v.screenplay)
            keys = [(lvl, "")] + ([(lvl, v.entity)] if v.entity != lvl else [])
            for key in keys:
                text = levels.to_text(sp, lvl, key[1] or None)
                texts = seen.setdefault(key, [])
                if text not in texts:
                    texts.append(text)
        out: dict[tuple[str, str], tuple[int, int]] = {}
        for (name, entity), texts in seen.items():
            current = levels.to_text(draft.screenplay, levels.check_level(name), entity or None)
            at = texts.index(current) if current in texts else len(texts) - 1
            out[(name, entity)] = (at + 1, len(texts))
        return out

    def step(self, project: str, level: str, direction: int, entity: str | None = None) -> Draft:
        """Restore the previous (-1) or next (+1) distinct alternative of a level."""
        lvl = levels.check_level(level)
        alternatives, at = self.alternatives(project, lvl, entity)
        draft = self.load(project)
        target = at + direction
        if not 0 <= target < len(alternatives):
            where = "earlier" if direction < 0 else "later"
            raise ProjectError(f"no {where} {lvl} to step to (at {at + 1} of {len(alternatives)})")
        chosen, sp = alternatives[target], copy(draft.screenplay)
        if lvl == "dialogue" and entity:
            sp.dialogue[entity] = chosen.dialogue[entity]
        elif lvl == "dialogue":
            sp.dialogue = chosen.dialogue
        else:
            setattr(sp, lvl, getattr(chosen, lvl))
        stale = dependants(sp, lvl, entity)
        return self._commit(draft, sp, "restore", lvl, entity or lvl, self.human, stale=stale)

    # --- checks ----------------------------------------------------------------------------

    @staticmethod
    def _require_upper(sp: Screenplay, level: Level) -> None:
        needs = {
            "characters": "logline",
            "scenes": "characters",
            "places": "scenes",
            "dialogue": "scenes",
        }
        upper = needs.get(level)
        if upper and not (sp.logline if upper == "logline" else getattr(sp, upper)):
            raise ProjectError(
                f"write the {upper} before the {level}", hint="soundstage write step PROJECT"
            )

    @staticmethod
    def _entity(sp: Screenplay, level: Level, entity: str) -> None:
        known = {
            "characters": {c.id for c in sp.characters},
            "scenes": {s.id for s in sp.scenes},
            "dialogue": {s.id for s in sp.scenes},
            "places": {p.name for p in sp.places},
        }.get(level)
        if known is None:
            raise ProjectError(f"the {level} level has no entities; leave the entity out")
        if entity not in known:
            raise ProjectError(
                f"no {level} entity {entity!r} in this project; known: {', '.join(sorted(known))}"
            )

    @staticmethod
    def _check_cast(sp: Screenplay) -> None:
        kept = {c.id for c in sp.characters}
        for scene in sp.scenes:
            gone = set(scene.characters) - kept
            if gone:
                raise ProjectError(
                    f"scene {scene.id} still uses {', '.join(sorted(gone))}",
                    hint="edit the scenes first, or keep those characters",
                )


def find_project(s: Session, project: str) -> Project:
    """A project by id, or by a unique id prefix of ≥ 4 characters; ProjectError if none."""
    row = s.get(Project, project)
    if row is None and len(project) >= 4:
        rows = s.scalars(select(Project).where(Project.id.startswith(project))).all()
        row = rows[0] if len(rows) == 1 else None
    if row is None:
        raise ProjectError(f"no project {project!r}", hint="`soundstage write list` shows them")
    return row


def load_draft(engine: Engine, project: str) -> Draft:
    """A project's current version, read from the store (no model needed)."""
    with Session(engine) as s:
        row = find_project(s, project)
        head = s.get(ProjectVersion, (row.id, row.head))
        assert head is not None, "a project always has its first version"
        stale = frozenset((a, b) for a, b in head.stale)
        return Draft(
            row.id, row.name, row.head, row.seed, Screenplay.from_json(head.screenplay), stale
        )
