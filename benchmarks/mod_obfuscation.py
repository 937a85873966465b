"""Model-free obfuscation probe for the moderation normaliser (notes/moderate.md §4).

Why: §4 showed classifier recall on OFF tweets collapsing under leetspeak and spaced letters.
Normalisation should undo that before any model runs, so this probe measures it without a model:
take the OLID test-set OFF tweets that contain a trigger word, rewrite every trigger in several
obfuscated ways, and count how often ``normalise(obfuscated).text`` equals
``normalise(clean).text`` exactly (the "recovery rate"; raw = before normalisation, casefolded).
It also counts how often each rule fires on the *unmodified* test tweets, as a collateral check.
Prints markdown tables.

    .venv/bin/python benchmarks/mod_obfuscation.py [path/to/olid]
"""

from __future__ import annotations

import csv
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from soundstage.moderate import normalise

DEFAULT = Path("/work/shared/data/mod/olid")
TRIGGERS = [
    "ass", "asshole", "bitch", "bullshit", "crap", "damn", "dumb", "fuck", "fucking", "hell",
    "idiot", "idiots", "liar", "loser", "moron", "pathetic", "shit", "stupid", "sucks",
]  # fmt: skip
TRIGGER_RE = re.compile(r"\b(" + "|".join(sorted(TRIGGERS, key=len, reverse=True)) + r")\b", re.I)
LEET = str.maketrans("aeiosAEIOS", "4310$4310$")
HOMOGLYPH = str.maketrans("aeiocpsxyAEIOCPSXY", "аеіосрѕхуАЕІОСРЅХУ")  # Latin → Cyrillic


def _stretch(word: str) -> str:
    """Repeat the first vowel five times: "stupid" → "stuuuuupid"."""
    m = re.search("[aeiou]", word, re.I)
    return word if m is None else word[: m.end()] + m.group() * 4 + word[m.end() :]


VARIANTS: dict[str, Callable[[str], str]] = {
    "leet (a→4 e→3 i→1 o→0 s→$)": lambda w: w.translate(LEET),
    "spaced letters (f u c k)": lambda w: " ".join(w),
    "dotted letters (f.u.c.k)": lambda w: ".".join(w),
    "zero-width spaces": lambda w: "\u200b".join(w),
    "Cyrillic homoglyphs": lambda w: w.translate(HOMOGLYPH),
    "fullwidth (ＦＵＣＫ)": lambda w: "".join(chr(ord(c) + 0xFEE0) for c in w),
    "stretched vowel": _stretch,
    "leet + zero-width": lambda w: "\u200b".join(w.translate(LEET)),
}


def load_off_tweets(folder: Path) -> tuple[list[str], list[str]]:
    """OLID test set A as (OFF tweets, NOT tweets); QUOTE_NONE because tweets contain quotes."""
    with (folder / "labels-levela.csv").open(encoding="utf-8", newline="") as f:
        labels = {row[0]: row[1] for row in csv.reader(f) if len(row) == 2 and row[0] != "id"}
    off: list[str] = []
    nots: list[str] = []
    with (folder / "testset-levela.tsv").open(encoding="utf-8", newline="") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) != 2 or row[0] == "id":
                continue
            label = labels.get(row[0])
            (off if label == "OFF" else nots if label == "NOT" else []).append(row[1])
    return off, nots


def recovery(probe: list[str]) -> list[tuple[str, int, int, int, Counter[str]]]:
    """Per variant: (name, raw matches, normalised matches, n, missed trigger words)."""
    rows = []
    for name, obfuscate in VARIANTS.items():
        raw = recovered = 0
        missed: Counter[str] = Counter()
        for tweet in probe:
            bad = TRIGGER_RE.sub(lambda m, f=obfuscate: f(m.group()), tweet)  # type: ignore[misc]
            raw += bad.casefold() == tweet.casefold()
            if normalise(bad).text == normalise(tweet).text:
                recovered += 1
            else:
                missed.update(w.lower() for w in TRIGGER_RE.findall(tweet))
        rows.append((name, raw, recovered, len(probe), missed))
    return rows


def collateral(tweets: list[str]) -> Counter[str]:
    """How many clean tweets each rule changes (fires on text nobody obfuscated)."""
    fired: Counter[str] = Counter()
    for tweet in tweets:
        fired.update(normalise(tweet).changes)
    return fired


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    if (
        not (folder / "testset-levela.tsv").is_file()
        or not (folder / "labels-levela.csv").is_file()
    ):
        print(
            f"OLID data not found in {folder} (need testset-levela.tsv + labels-levela.csv); skip."
        )
        return
    t0 = time.perf_counter()
    off, nots = load_off_tweets(folder)
    probe = [t for t in off if TRIGGER_RE.search(t)]
    print(f"OLID test A: {len(off)} OFF, {len(nots)} NOT; probe = {len(probe)} OFF tweets with a")
    print(f"trigger word ({', '.join(TRIGGERS)}).\n")
    print(
        "| variant | raw = clean | recovered by normalise | recovery rate | most-missed triggers |"
    )
    print("|---|---|---|---|---|")
    for name, raw, rec, n, missed in recovery(probe):
        top = ", ".join(f"{w} ({c})" for w, c in missed.most_common(3)) or "—"
        print(f"| {name} | {raw}/{n} | {rec}/{n} | {rec / max(n, 1):.3f} | {top} |")
    print("\nRules firing on the unmodified test tweets (collateral changes):\n")
    print("| rule | NOT tweets | OFF tweets |")
    print("|---|---|---|")
    fired_not, fired_off = collateral(nots), collateral(off)
    for rule in ("zero-width", "nfkc", "confusables", "spacing", "leet", "repeats"):
        print(f"| {rule} | {fired_not[rule]}/{len(nots)} | {fired_off[rule]}/{len(off)} |")
    print(f"\n{time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
