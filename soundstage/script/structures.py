"""Story structures as ordered beats with their share of the runtime.

Shares follow the usual page targets of each method (Save the Cat's beat sheet for a 110-page
script, Vogler's Hero's Journey in three acts, Dramatron's nine-beat Medea prefix), rescaled
to sum to 1 so they place scenes for any length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from soundstage.script.types import Controls, Structure


@dataclass(frozen=True)
class Beat:
    name: str
    share: float  # fraction of the runtime
    purpose: str  # what a scene at this beat has to do, in one line
    rank: int = 1  # 1 = essential; short scripts keep the lowest ranks first


_STRUCTURES: dict[str, list[Beat]] = {
    "three-act": [
        Beat("Setup", 0.12, "show the hero's ordinary world and what the hero lacks", 1),
        Beat("Inciting Incident", 0.10, "an event upsets the hero's ordinary world", 1),
        Beat("Rising Action", 0.23, "the hero pursues a goal against growing resistance", 3),
        Beat("Midpoint", 0.10, "a reversal raises the stakes", 3),
        Beat("Crisis", 0.20, "everything seems lost; the hero must choose", 2),
        Beat("Climax", 0.15, "the hero confronts the opposing force", 1),
        Beat("Resolution", 0.10, "a new ordinary world shows how the hero has changed", 2),
    ],
    "save-the-cat": [
        Beat("Opening Image", 0.01, "a snapshot of the hero before the change", 3),
        Beat("Theme Stated", 0.04, "someone states the lesson the hero must learn", 4),
        Beat("Set-Up", 0.06, "the hero's world, flaws and stakes", 1),
        Beat("Catalyst", 0.02, "life-changing news arrives", 1),
        Beat("Debate", 0.10, "the hero hesitates", 4),
        Beat("Break into Two", 0.02, "the hero chooses to act", 2),
        Beat("B Story", 0.03, "a relationship that carries the theme begins", 4),
        Beat("Fun and Games", 0.20, "the promise of the premise", 2),
        Beat("Midpoint", 0.02, "a false victory or false defeat", 3),
        Beat("Bad Guys Close In", 0.20, "doubt and opposition tighten", 3),
        Beat("All Is Lost", 0.02, "the lowest point", 2),
        Beat("Dark Night of the Soul", 0.07, "the hero faces what they avoided", 3),
        Beat("Break into Three", 0.02, "the solution appears", 3),
        Beat("Finale", 0.18, "the hero applies the lesson", 1),
        Beat("Final Image", 0.01, "the opposite of the opening image", 2),
    ],
    "heros-journey": [
        Beat("Ordinary World", 0.08, "the hero at home, incomplete", 1),
        Beat("Call to Adventure", 0.05, "a challenge appears", 1),
        Beat("Refusal of the Call", 0.05, "fear holds the hero back", 3),
        Beat("Meeting the Mentor", 0.06, "someone gives advice or a gift", 2),
        Beat("Crossing the Threshold", 0.06, "the hero commits and leaves home", 2),
        Beat("Tests, Allies, Enemies", 0.15, "the hero learns the new world's rules", 3),
        Beat("Approach", 0.08, "preparing for the central ordeal", 4),
        Beat("Ordeal", 0.12, "the hero faces death or their greatest fear", 1),
        Beat("Reward", 0.08, "the hero seizes what they came for", 3),
        Beat("The Road Back", 0.09, "consequences follow the hero home", 4),
        Beat("Resurrection", 0.12, "a final test proves the change", 2),
        Beat("Return with the Elixir", 0.06, "the hero brings something back", 2),
    ],
    "dramatron": [
        Beat("Exposition", 0.10, "introduce the hero and the situation", 1),
        Beat("Inciting Incident", 0.10, "the event that sets the hero's story going", 1),
        Beat("Conflict", 0.12, "opposing wants collide", 2),
        Beat("Rising Action", 0.15, "the conflict escalates", 3),
        Beat("Dilemma", 0.10, "a choice with no good option", 3),
        Beat("Climax", 0.15, "the hero's decisive confrontation", 1),
        Beat("Falling Action", 0.10, "the fallout of the climax", 4),
        Beat("Resolution", 0.10, "the hero's conflict is settled", 2),
        Beat("Dénouement", 0.08, "the final state of things", 4),
    ],
}

STRUCTURES: tuple[str, ...] = tuple(_STRUCTURES)


def beats(structure: Structure) -> list[Beat]:
    total = sum(b.share for b in _STRUCTURES[structure])
    return [Beat(b.name, b.share / total, b.purpose, b.rank) for b in _STRUCTURES[structure]]


def scene_count(minutes: float) -> int:
    """Short films run ~2 minutes a scene, features nearer 3: a smooth rule between."""
    per_scene = 2.0 if minutes <= 15 else min(3.0, 2.0 + (minutes - 15) / 100)
    return max(3, round(minutes / per_scene))


def cast_size(controls: Controls) -> int:
    """How many characters a script of this length plans: 3 up to 10 minutes, 4 up to 30."""
    return 3 if controls.minutes <= 10 else 4 if controls.minutes <= 30 else 6


def allocate(structure: Structure, n_scenes: int) -> list[Beat]:
    """Give each of n scenes a beat, in order, in proportion to the beats' shares.

    Every beat gets at least one scene when there are enough scenes; when there are fewer
    scenes than beats, the most essential beats (lowest rank, then earliest) are kept, in order.
    """
    sheet = beats(structure)
    if n_scenes < len(sheet):
        keep = sorted(range(len(sheet)), key=lambda i: (sheet[i].rank, i))[:n_scenes]
        return [sheet[i] for i in sorted(keep)]
    counts = [1] * len(sheet)
    spare = n_scenes - len(sheet)
    wants = [b.share * n_scenes - 1 for b in sheet]
    for _ in range(spare):
        i = max(range(len(sheet)), key=lambda k: wants[k] - (counts[k] - 1))
        counts[i] += 1
    out: list[Beat] = []
    for beat, count in zip(sheet, counts, strict=True):
        out.extend([beat] * count)
    assert len(out) == n_scenes and math.isclose(sum(b.share for b in sheet), 1.0)
    return out
