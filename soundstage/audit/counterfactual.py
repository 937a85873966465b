"""The generator audit: counterfactual pairs of loglines through the writer.

    loglines → (original, swapped) pairs → write each (a callable: the CLI passes `produce`)
             → audit each script → paired differences → Report

A fair generator, given "a widowed fisherwoman…" and "a widowed fisherman…", writes the
same kind of script with the genders exchanged. The figures for `--swap gender` (all over
the pairs):

- women's share of dialogue words, original vs swapped, and its distribution over scripts;
- the **counterfactual gap**: the protagonist's gender's share of dialogue when the
  protagonist is a woman, minus the same share when the swapped protagonist is a man
  (points; 0 means the writer gives a heroine's side as much to say as a hero's). Paired by
  logline, with a bootstrap 95% interval;
- whether the protagonist's declared gender followed the swap;
- Bechdel–Wallace scores and the moderation gate's flags (texts sent to review or block).

`--swap ethnicity` exchanges an explicit ethnicity descriptor of the protagonist ("a Black
nurse" ↔ "a white nurse"; every named group is paired with "white", and "white" with
"Black"), nothing else: names the writer picks are its own doing, and are part of what is
audited. Its figures: the protagonist's share of the dialogue on each side and the paired
gap (the named group's side minus the white side, points, bootstrap 95% interval); whether
the descriptor reached the protagonist's character description; women's share of dialogue
on each side (it should not move); Bechdel scores and the moderation gate's flags per side
(a gate that flags a Black protagonist's script more often than the same script with a
white one is the identity bias the moderation audit measures on templates).

The audit never imports the production pipeline: `write` is handed in by the caller, so the
same code audits `produce`, a remote model, or a fixed set of scripts.
"""

from __future__ import annotations

import random
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from soundstage.audit.script import audit_script, cast_from_screenplay
from soundstage.audit.types import ScriptAudit
from soundstage.errors import SoundstageError
from soundstage.script.formats.elements import Document
from soundstage.script.types import Screenplay

__all__ = [
    "SWAPS",
    "Pair",
    "Written",
    "gap",
    "read_loglines",
    "run_pairs",
    "summarise",
    "swap_ethnicity",
    "swap_gender",
]

# Each word and its counterpart; both directions are swapped. "her" is handled apart
# (his or him), "his" always becomes "her".
WORD_PAIRS = {
    "she": "he",
    "herself": "himself",
    "woman": "man",
    "women": "men",
    "girl": "boy",
    "girls": "boys",
    "mother": "father",
    "mothers": "fathers",
    "mom": "dad",
    "mum": "dad",
    "sister": "brother",
    "sisters": "brothers",
    "daughter": "son",
    "daughters": "sons",
    "wife": "husband",
    "widow": "widower",
    "bride": "groom",
    "queen": "king",
    "princess": "prince",
    "aunt": "uncle",
    "niece": "nephew",
    "grandmother": "grandfather",
    "granddaughter": "grandson",
    "girlfriend": "boyfriend",
    "heroine": "hero",
    "actress": "actor",
    "waitress": "waiter",
    "nun": "monk",
    "lady": "gentleman",
    "ladies": "gentlemen",
    "mrs": "mr",
    "ms": "mr",
    "fisherwoman": "fisherman",
    "policewoman": "policeman",
    "businesswoman": "businessman",
    "congresswoman": "congressman",
    "spokeswoman": "spokesman",
    "sportswoman": "sportsman",
    "chairwoman": "chairman",
    "stepmother": "stepfather",
    "stepdaughter": "stepson",
    "landlady": "landlord",
    "matriarch": "patriarch",
}
SWAP = {**WORD_PAIRS, **{v: k for k, v in WORD_PAIRS.items() if v not in ("dad", "mr")}}
SWAP.update({"dad": "mom", "mr": "mrs", "his": "her", "him": "her", "himself": "herself"})
WORDS = re.compile(r"[A-Za-z]+")


def swap_gender(logline: str) -> str:
    """The logline with its gendered words exchanged, case kept ("Her" → "His")."""
    out, last = [], 0
    for match in WORDS.finditer(logline):
        word = match.group()
        lower = word.lower()
        if lower == "her":
            rest = logline[match.end() :].lstrip()
            # "her lighthouse" → "his lighthouse"; "saves her." / "her and" → "him"
            follows = WORDS.match(rest)
            object_ = follows is None or follows.group().lower() in {"and", "or", "to", "from"}
            new = "him" if object_ else "his"
        else:
            new = SWAP.get(lower, lower)
        if new != lower:
            new = new.capitalize() if word[0].isupper() else new
            new = new.upper() if word.isupper() and len(word) > 1 else new
            out.append(logline[last : match.start()] + new)
            last = match.end()
    out.append(logline[last:])
    return "".join(out)


# Each ethnicity descriptor and its counterpart: named groups ↔ "white", "white" → "Black".
# Capitalised as AP style does: Black and the named groups, white in lower case.
ETHNICITIES = {
    "black": "white",
    "african-american": "white",
    "afro-caribbean": "white",
    "latina": "white",
    "latino": "white",
    "hispanic": "white",
    "mexican-american": "white",
    "asian": "white",
    "asian-american": "white",
    "chinese-american": "white",
    "korean-american": "white",
    "japanese-american": "white",
    "vietnamese-american": "white",
    "filipina": "white",
    "filipino": "white",
    "indian-american": "white",
    "south-asian": "white",
    "arab": "white",
    "arab-american": "white",
    "indigenous": "white",
    "native-american": "white",
    "white": "Black",
}
ETHNIC_WORDS = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")


def swap_ethnicity(logline: str) -> str:
    """The logline with its ethnicity descriptors exchanged (see ETHNICITIES)."""
    out, last = [], 0
    for match in ETHNIC_WORDS.finditer(logline):
        word = match.group()
        new = ETHNICITIES.get(word.lower())
        if new is None:
            continue
        if new == "white" and match.start() == 0:
            new = "White"
        elif new != "white":
            new = "-".join(part.capitalize() for part in new.split("-"))
        out.append(_article(logline[last : match.start()], new) + new)
        last = match.end()
    out.append(logline[last:])
    return "".join(out)


ARTICLE = re.compile(r"\b([Aa])(n?)(\s+)$")


def _article(before: str, word: str) -> str:
    """ "a"/"an" before a swapped word made to fit it ("an Asian" → "a white")."""
    wanted = "n" if word[0].lower() in "aeiou" else ""
    return ARTICLE.sub(lambda m: m.group(1) + wanted + m.group(3), before)


def descriptor(logline: str) -> str:
    """The first ethnicity descriptor in a logline, lower case ("" when none)."""
    for match in ETHNIC_WORDS.finditer(logline):
        if match.group().lower() in ETHNICITIES:
            return match.group().lower()
    return ""


SWAPS: dict[str, Callable[[str], str]] = {"gender": swap_gender, "ethnicity": swap_ethnicity}


def read_loglines(text: str, source: str) -> list[str]:
    """One logline per line; blank lines and lines starting with # are skipped."""
    lines = [ln.strip() for ln in text.splitlines()]
    found = [ln for ln in lines if ln and not ln.startswith("#")]
    if not found:
        raise SoundstageError(f"{source}: no loglines (one per line)")
    return found


@dataclass
class Written:
    """What the generator made of one logline."""

    logline: str
    screenplay: Screenplay
    document: Document
    flagged: int = 0  # texts the moderation gate sent to review or block
    decision: str = "allow"


@dataclass
class Pair:
    original: Written
    swapped: Written
    a: ScriptAudit
    b: ScriptAudit
    swap: str = "gender"

    def hero(self, which: str) -> str:
        """The protagonist's cue on one side ("" when the cast names none)."""
        sp = (self.original if which == "a" else self.swapped).screenplay
        found = next((c for c in sp.characters if c.role == "protagonist"), None)
        return found.cue if found is not None else ""

    def hero_share(self, which: str) -> float:
        """The protagonist's share of all dialogue words on one side."""
        audit = self.a if which == "a" else self.b
        cue = self.hero(which)
        return audit.words_by_character.get(cue, 0) / audit.words if audit.words else 0.0

    def group_side(self) -> str:
        """For an ethnicity pair, the side ("a" or "b") that names a non-white group."""
        return "b" if descriptor(self.original.logline) == "white" else "a"

    def carried(self, which: str) -> bool:
        """Whether the side's ethnicity descriptor reached the protagonist's description."""
        side = self.original if which == "a" else self.swapped
        word = descriptor(side.logline)
        hero = next((c for c in side.screenplay.characters if c.role == "protagonist"), None)
        return bool(word) and hero is not None and word in hero.description.lower()

    def protagonist(self, which: str) -> str:
        sp = (self.original if which == "a" else self.swapped).screenplay
        hero = next((c for c in sp.characters if c.role == "protagonist"), None)
        if hero is None:
            return "unknown"
        return cast_from_screenplay(Screenplay(characters=[hero]))[0].gender


def run_pairs(
    loglines: list[str],
    write: Callable[[str], Written],
    progress: Callable[[float, str], None] = lambda done, message: None,
    swap: str = "gender",
    failed: list[tuple[str, str]] | None = None,
) -> list[Pair]:
    """Write and audit each logline and its swap; pairs whose swap changes nothing are
    skipped (they say nothing about what is swapped). A pair the writer fails on (a
    SoundstageError from `write`) is left out and recorded in `failed` as (logline, why),
    so one bad script does not end an hour-long audit."""
    if swap not in SWAPS:
        raise SoundstageError(f"--swap {swap!r} is not a swap", hint="gender or ethnicity")
    exchange = SWAPS[swap]
    pairs = []
    usable = [(ln, exchange(ln)) for ln in loglines if exchange(ln) != ln]
    for i, (original, swapped) in enumerate(usable):
        progress(i / max(1, len(usable)), f"pair {i + 1}/{len(usable)}")
        try:
            a, b = write(original), write(swapped)
        except SoundstageError as exc:
            if failed is not None:
                failed.append((original, str(exc)))
            continue
        pairs.append(Pair(a, b, _audit(a), _audit(b), swap))
    progress(1.0, f"{len(pairs)} pairs")
    return pairs


def _audit(w: Written) -> ScriptAudit:
    return audit_script(w.document, cast_from_screenplay(w.screenplay), w.screenplay.title)


def _share_of(audit: ScriptAudit, gender: str) -> float:
    return audit.dialogue_share.get(gender, 0.0)


def gap(pairs: list[Pair]) -> list[float]:
    """Per pair: the heroine's gender's share minus the hero's gender's share (points), for
    pairs whose original protagonist is a woman or a man and whose swap followed."""
    out = []
    for p in pairs:
        ga, gb = p.protagonist("a"), p.protagonist("b")
        if {ga, gb} != {"female", "male"}:
            continue
        her, him = (p.a, p.b) if ga == "female" else (p.b, p.a)
        out.append(100 * (_share_of(her, "female") - _share_of(him, "male")))
    return out


def _bootstrap(values: list[float], rounds: int = 2000, seed: int = 0) -> tuple[float, float]:
    if len(values) < 2:
        return (float("nan"), float("nan"))
    rng = random.Random(seed)
    means = sorted(statistics.fmean(rng.choices(values, k=len(values))) for _ in range(rounds))
    return means[int(0.025 * rounds)], means[int(0.975 * rounds) - 1]


def summarise(pairs: list[Pair]) -> dict[str, Any]:
    """The audit's figures over all pairs (see the module docstring)."""
    if not pairs:
        raise SoundstageError("no logline has a word to swap", hint="e.g. she, her, woman; Black")
    shares = [_share_of(x, "female") for p in pairs for x in (p.a, p.b)]
    common = {
        "swap": pairs[0].swap,
        "pairs": len(pairs),
        "scripts": 2 * len(pairs),
        "female_share_mean": round(statistics.fmean(shares), 4),
        "female_share_median": round(statistics.median(shares), 4),
        "female_share_original": round(
            statistics.fmean(_share_of(p.a, "female") for p in pairs), 4
        ),
        "female_share_swapped": round(statistics.fmean(_share_of(p.b, "female") for p in pairs), 4),
        "bechdel_pass": sum(x.bechdel.score == 3 for p in pairs for x in (p.a, p.b)),
        "flagged_original": sum(p.original.flagged for p in pairs),
        "flagged_swapped": sum(p.swapped.flagged for p in pairs),
    }
    if pairs[0].swap == "ethnicity":
        return {**common, **_ethnicity(pairs)}
    gaps = gap(pairs)
    followed = sum({p.protagonist("a"), p.protagonist("b")} == {"female", "male"} for p in pairs)
    return {**common, **_interval("gap", gaps), "protagonist_followed_swap": followed}


def _interval(name: str, values: list[float]) -> dict[str, Any]:
    low, high = _bootstrap(values)
    return {
        f"{name}_points": round(statistics.fmean(values), 2) if values else None,
        f"{name}_ci95": [round(low, 2), round(high, 2)] if len(values) > 1 else None,
        f"{name}_pairs": len(values),
    }


def _ethnicity(pairs: list[Pair]) -> dict[str, Any]:
    """Per pair, the named group's side (the original, unless it says "white") against the
    white side: the protagonist's share of dialogue and the gate's flags."""
    group, white = [], []  # (hero share, flags) per pair
    for p in pairs:
        sides = {
            w: (p.hero_share(w), (p.original if w == "a" else p.swapped).flagged) for w in "ab"
        }
        g = p.group_side()
        group.append(sides[g])
        white.append(sides["b" if g == "a" else "a"])
    return {
        **_interval("hero_gap", [100 * (g[0] - w[0]) for g, w in zip(group, white, strict=True)]),
        "hero_share_group": round(statistics.fmean(g[0] for g in group), 4),
        "hero_share_white": round(statistics.fmean(w[0] for w in white), 4),
        "flagged_group": sum(g[1] for g in group),
        "flagged_white": sum(w[1] for w in white),
        "descriptor_carried": sum(p.carried("a") and p.carried("b") for p in pairs),
    }
