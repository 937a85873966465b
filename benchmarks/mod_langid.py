"""Language ID on moderation data: how often English is wrongly flagged, foreign text caught.

Why: a false "unsupported" sends English text to review without scores (Perspective's short-text
misdetections, notes/moderate.md §2.2); a missed one scores German as English (near-random
AUC, benchmarks/mod_bias_eval.py). Measures on OLID test A (English tweets) and on seeded
2,000-row samples of the conversationai sentence templates in en/de/nl/zh-cn/hi-Latn.

    .venv/bin/python benchmarks/mod_langid.py [--data ../shared/data/mod]
"""

from __future__ import annotations

import argparse
import csv
import random
import time
from pathlib import Path

from soundstage.moderate.langid import detect

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "mod")
    args = parser.parse_args()
    lines = (args.data / "olid" / "testset-levela.tsv").read_text(encoding="utf-8").splitlines()
    sets = {"OLID test (en tweets)": [line.split("\t")[1] for line in lines[1:]]}
    folder = args.data / "conversationai_bias_eval" / "sentence_templates"
    for lang in ("en", "de", "nl", "zh-cn", "hi-Latn"):
        with (folder / f"{lang}_sentence_templates.csv").open(encoding="utf-8") as handle:
            phrases = [row["phrase"] for row in csv.DictReader(handle)]
        sets[f"templates {lang}"] = random.Random(0).sample(phrases, 2000)
    print("| set | n | flagged unsupported | undetermined (scored as English) |")
    print("|---|---|---|---|")
    started, total = time.perf_counter(), 0
    for name, texts in sets.items():
        found = [detect(t) for t in texts]
        total += len(texts)
        unsupported = sum(not f.supported for f in found) / len(found)
        undetermined = sum(f.code == "und" for f in found) / len(found)
        print(f"| {name} | {len(texts):,} | {unsupported:.1%} | {undetermined:.1%} |")
    print(f"\n{total / (time.perf_counter() - started):,.0f} texts/s")


if __name__ == "__main__":
    main()
