"""Dialogue, turn by turn, for speakers chosen by character id (the embedded strategy).

The embedded model was trained on `SPEAKER:\\nline\\n\\n` turns, so a scene is prompted as
exactly that: a bracketed stage direction with the place, the beat and a summary of the
earlier scenes, then the turns so far, then the cue of the speaker *we* chose. The model
only ever writes one speech at a time (`stop="\\n\\n"`), so it cannot invent speakers.

Better than Dramatron, each turn samples N candidates and keeps the best by a score of
relevance to the beat (bag-of-words cosine), novelty against the scene so far and a
length prior; candidates that repeat an earlier speech or loop on themselves are dropped
and resampled with a new seed (Dramatron's loop rule, per speech).
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from soundstage.backends.base import TextBackend
from soundstage.errors import SoundstageError
from soundstage.script.types import Character, Dialogue, Line, Scene, Screenplay

WORD = re.compile(r"[a-z']+")
STOPWORDS = frozenset(
    "a an the and or but if of to in on at by for with from as is are was were be been i you he "
    "she it we they me him her us them my your his its our their this that these those what "
    "which who whom not no so do does did have has had will would shall should can could may "
    "might must o thou thee thy thine art".split()
)
CUE = re.compile(r"^\s*[A-Z][A-Za-z .'-]{0,30}:\s*$", re.M)
MAX_ROUNDS = 3  # resampling rounds when every candidate is rejected
# Turns kept in the prompt: when the text passes this many characters (~400 tokens), the
# oldest half is dropped at once, so the prompt's prefix, and the model's cache, stay
# stable for many turns instead of shifting every turn.
WINDOW_CHARS = 1200


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def content(text: str) -> Counter[str]:
    return Counter(w for w in words(text) if w not in STOPWORDS and len(w) > 2)


def cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(a[k] * b[k] for k in a.keys() & b.keys())
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def rep_n(text: str, n: int = 4) -> float:
    """1 - unique/total n-grams: 0 for fresh text, towards 1 for text that loops."""
    toks = words(text)
    grams = [tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)]
    return 1 - len(set(grams)) / len(grams) if grams else 0.0


def clean(text: str) -> str:
    """Cut at a speaker cue the model started on its own; trim blank lines and spaces."""
    match = CUE.search(text)
    if match:
        text = text[: match.start()]
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return "\n".join(lines[:4])


LINES_PER_PAGE = 55  # one page is about one minute of screen time
DIALOGUE_WIDTH = 35  # characters per printed dialogue line (2.5 in to 6 in at 10 cpi)


def printed_lines(line: Line) -> int:
    """Lines a speech takes on the page: cue, parenthetical, wrapped text, blank line after."""
    wrapped = sum(max(1, math.ceil(len(part) / DIALOGUE_WIDTH)) for part in line.text.split("\n"))
    return 1 + (1 if line.parenthetical else 0) + wrapped + 1


def scene_budget(minutes: float, n_scenes: int) -> int:
    """Printed dialogue lines for one scene: its share of the pages, less heading and action."""
    return max(8, round(minutes * LINES_PER_PAGE / max(1, n_scenes)) - 6)


@dataclass
class DialogueWriter:
    backend: TextBackend
    candidates: int = 2
    max_tokens: int = 60
    temperature: float = 0.9
    top_p: float = 0.9

    def prompt(self, sp: Screenplay, scene: Scene, earlier: list[Scene], turns: list[Line]) -> str:
        place = sp.place(scene.place)
        direction = f"{scene.place.title()}."
        if place and place.description:
            direction += f" {place.description}"
        direction += f" {scene.beat}"
        head = [f"[{direction.strip()}]"]
        if earlier:
            head.append("[Before: " + " ".join(s.beat for s in earlier[-2:]) + "]")
        body = [f"{sp.character(t.speaker).cue}:\n{t.text}" for t in turns]
        return "\n\n".join(head + body) + "\n\n"

    def score(self, text: str, beat: Counter[str], previous: list[str]) -> float | None:
        """Higher is better; None rejects the candidate (empty, repeated or looping)."""
        if len(words(text)) < 2 or rep_n(text) > 0.3:
            return None
        norm = " ".join(words(text))
        if any(norm == " ".join(words(p)) for p in previous):
            return None
        mine = content(text)
        novelty = 1 - max((cosine(mine, content(p)) for p in previous[-6:]), default=0.0)
        n = len(words(text))
        length = 1.0 if 4 <= n <= 40 else 0.5
        return cosine(mine, beat) + 0.5 * novelty + 0.3 * length

    def next_line(
        self,
        sp: Screenplay,
        scene: Scene,
        earlier: list[Scene],
        turns: list[Line],
        speaker: Character,
        seed: int,
        window: int = 0,
    ) -> tuple[Line, str]:
        """One speech for `speaker`; the prompt shows turns[window:], checks use all turns."""
        prompt = self.prompt(sp, scene, earlier, turns[window:]) + f"{speaker.cue}:\n"
        beat = content(scene.beat + " " + sp.logline)
        previous = [t.text for t in turns]
        fallback = ""
        for round_ in range(MAX_ROUNDS):
            best: tuple[float, str] | None = None
            for c in range(self.candidates):
                out = self.backend.complete(
                    prompt,
                    max_tokens=self.max_tokens,
                    temperature=self.temperature,
                    top_p=self.top_p,
                    stop=["\n\n"],
                    seed=seed * 1009 + round_ * 101 + c,
                )
                text = out.text
                if out.finish_reason == "length" and "\n" in text.strip():
                    text = text.strip().rsplit("\n", 1)[0]  # drop the line cut off mid-way
                text = clean(text)
                fallback = fallback or text
                score = self.score(text, beat, previous)
                if score is not None and (best is None or score > best[0]):
                    best = (score, text)
            if best is not None:
                return Line(speaker.id, best[1]), prompt
        if not fallback:
            raise SoundstageError(
                f"dialogue: the model returned no usable speech for scene {scene.id} "
                f"after {MAX_ROUNDS * self.candidates} tries",
                hint="try another --seed or a different --model",
            )
        return Line(speaker.id, fallback), prompt

    def write_scene(
        self,
        sp: Screenplay,
        scene: Scene,
        budget: int,
        seed: int,
        on_turn: Callable[[Line, str], None] | None = None,
        start: tuple[Line, ...] = (),
    ) -> Dialogue:
        """Write speeches until the new ones fill `budget` printed lines, after `start`."""
        index = next(i for i, s in enumerate(sp.scenes) if s.id == scene.id)
        earlier = sp.scenes[:index]
        present = [sp.character(c) for c in scene.characters] or sp.characters[:1]
        rng = random.Random(seed * 7919 + index)
        turns: list[Line] = list(start)
        last: str | None = turns[-1].speaker if turns else None
        used, turn, window = 0, 0, 0
        while used < budget:
            if len(self.prompt(sp, scene, earlier, turns[window:])) > WINDOW_CHARS:
                window = len(turns) - (len(turns) - window) // 2
            choices = [c for c in present if c.id != last] or present
            weights = [2.0 if c.role == "protagonist" else 1.0 for c in choices]
            speaker = rng.choices(choices, weights)[0]
            line, prompt = self.next_line(sp, scene, earlier, turns, speaker, seed + turn, window)
            turns.append(line)
            used += printed_lines(line)
            turn += 1
            last = speaker.id
            if on_turn:
                on_turn(line, prompt)
        return Dialogue(scene.id, tuple(turns))
