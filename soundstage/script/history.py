"""The intervention log: who wrote what, at which level, with which prompt.

Every generate, continue, edit and regenerate appends an `Intervention` holding the entity's
new text and a line diff against its previous text. From the log alone we can replay a
draft's history, show the prompts actually sent, and compute authorship: per level, the
share of the final text written by people vs models, and the edit effort (relative
Levenshtein distance between the model's text and what the writer kept, as in the
Dramatron study's Appendix C).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Literal

from rapidfuzz.distance import Levenshtein

from soundstage.script.types import LEVELS, Level, Screenplay

Op = Literal["generate", "continue", "edit", "regenerate", "restore"]


@dataclass(frozen=True)
class Intervention:
    ts: str
    op: Op
    level: Level
    entity: str  # "logline", "title", a character id, a scene id or a place name
    actor: str  # "human:NAME" or "model:MODEL"
    text: str  # the entity's text after this intervention
    prompt: str = ""
    diff: str = ""


def line_diff(before: str, after: str) -> str:
    """A unified line diff without headers, as stored with every intervention."""
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return "\n".join(line for line in lines if not line.startswith(("---", "+++")))


def is_human(actor: str) -> bool:
    return actor.startswith("human:")


def entity_texts(sp: Screenplay) -> dict[tuple[Level, str], str]:
    """The text of every entity, as the log records it."""
    out: dict[tuple[Level, str], str] = {
        ("logline", "logline"): sp.logline,
        ("title", "title"): sp.title,
    }
    for c in sp.characters:
        out[("characters", c.id)] = f"{c.name}: {c.description}"
    for s in sp.scenes:
        out[("scenes", s.id)] = f"{s.place} | {s.plot_element} | {s.beat}"
    for p in sp.places:
        out[("places", p.name)] = p.description
    for scene_id, d in sp.dialogue.items():
        lines: list[str] = [d.action] if d.action else []
        for ln in d.lines:
            lines.append(f"{sp.cast_member(ln.speaker).cue}: {ln.text}")
            if ln.action:
                lines.append(ln.action)
        out[("dialogue", scene_id)] = "\n".join(lines)
    return out


@dataclass
class InterventionLog:
    entries: list[Intervention] = field(default_factory=list)

    def last(self, level: Level, entity: str) -> Intervention | None:
        for item in reversed(self.entries):
            if item.level == level and item.entity == entity:
                return item
        return None

    def record(
        self, op: Op, level: Level, entity: str, actor: str, text: str, prompt: str = ""
    ) -> Intervention:
        before = self.last(level, entity)
        diff = line_diff(before.text if before else "", text)
        item = Intervention(
            datetime.now(UTC).isoformat(timespec="milliseconds"),
            op,
            level,
            entity,
            actor,
            text,
            prompt,
            diff,
        )
        self.entries.append(item)
        return item

    def record_all(self, sp: Screenplay, op: Op, actor: str, levels: Iterable[Level]) -> None:
        wanted = set(levels)
        for (level, entity), text in entity_texts(sp).items():
            if level in wanted:
                self.record(op, level, entity, actor, text)

    def to_jsonl(self) -> str:
        return "".join(json.dumps(asdict(e), ensure_ascii=False) + "\n" for e in self.entries)


def authorship(log: InterventionLog, sp: Screenplay) -> dict[str, dict[str, float]]:
    """Per level: human and model shares of the final characters, and mean edit effort.

    An entity last written by a model counts wholly to the model. An entity a person edited
    counts to the person in proportion to how much they changed the model's last text
    (normalised Levenshtein distance), the rest to the model; text a person typed from
    scratch counts wholly to the person.
    """
    totals: dict[str, dict[str, float]] = {lvl: {"human": 0.0, "model": 0.0} for lvl in LEVELS}
    efforts: dict[str, list[float]] = {lvl: [] for lvl in LEVELS}
    for (level, entity), final in entity_texts(sp).items():
        history = [e for e in log.entries if e.level == level and e.entity == entity]
        size = float(len(final))
        model_text = next((e.text for e in reversed(history) if not is_human(e.actor)), None)
        if not history or not is_human(history[-1].actor):
            totals[level]["model" if history else "human"] += size
            continue
        if model_text is None:
            totals[level]["human"] += size
            continue
        changed = Levenshtein.normalized_distance(model_text, final)
        totals[level]["human"] += size * changed
        totals[level]["model"] += size * (1 - changed)
        efforts[level].append(Levenshtein.distance(model_text, final) / max(1, len(model_text)))
    report: dict[str, dict[str, float]] = {}
    for level in LEVELS:
        chars = totals[level]["human"] + totals[level]["model"]
        if not chars:
            continue
        report[level] = {
            "chars": chars,
            "human_share": round(totals[level]["human"] / chars, 4),
            "model_share": round(totals[level]["model"] / chars, 4),
            "edit_effort": round(sum(efforts[level]) / len(efforts[level]), 4)
            if efforts[level]
            else 0.0,
        }
    return report
