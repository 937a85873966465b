"""The English word list language ID checks before calling a text foreign (issue #17).

Why: fastText's language ID reads short English slang as another language ("fuck you lame
ass hoes" → Luxembourgish, 0.96), and the moderator then skips the English model: the
abuse gets no scores at all. A text whose words are nearly all common English words is
English, whatever the detector says.

The list is every word that appears in at least ``MIN_DF`` OLID training or Davidson tweets
(4,193 words: everyday English, its slang and its profanity; both sets are English tweets,
MIT and CC BY 4.0, and a word list carries no tweet). Built by

    python -m soundstage.moderate.lexicon --data ../shared/data/mod

into ``soundstage/moderate/english_words.txt`` (shipped). On the ConversationAI German,
Dutch and Hindi (Latin script) template sentences, 0.0%, 0.4% and 0.0% of a 2,000-sentence
sample reach the share at which language ID treats a text as English.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

__all__ = ["WORDS_FILE", "build", "english_share", "words"]

WORDS_FILE = Path(__file__).with_name("english_words.txt")
MIN_DF = 10
TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?")
_NOISE = re.compile(r"@\w+|https?://\S+|&\w+;|&#\d+;")


@lru_cache(maxsize=1)
def words() -> frozenset[str]:
    """The shipped list (empty when the file is missing: nothing is then called English)."""
    try:
        return frozenset(WORDS_FILE.read_text(encoding="utf-8").split())
    except OSError:
        return frozenset()


def english_share(text: str) -> tuple[float, int]:
    """(share of the text's words that are in the list, number of words)."""
    tokens = TOKEN.findall(text.lower())
    known = words()
    return (sum(t in known for t in tokens) / len(tokens) if tokens else 0.0), len(tokens)


def build(data_dir: Path, min_df: int = MIN_DF) -> list[str]:
    """Words in at least `min_df` OLID-train or Davidson tweets, sorted."""
    from soundstage.datasets import check_sources
    from soundstage.moderate.sources import read_source

    check_sources(["olid", "davidson_hate_offensive"])  # registry: licences, opt-outs
    df: Counter[str] = Counter()
    for name in ("olid", "davidson"):
        source = read_source(name, data_dir)
        for text, split in zip(source.texts, source.split, strict=True):
            if split != "test":  # OLID test stays unread
                df.update(set(TOKEN.findall(_NOISE.sub(" ", text.lower()))))
    return sorted(w for w, n in df.items() if n >= min_df)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build the English word list for language ID.")
    ap.add_argument("--data", type=Path, required=True, help="../shared/data/mod")
    ap.add_argument("--out", type=Path, default=WORDS_FILE)
    args = ap.parse_args(argv)
    found = build(args.data)
    args.out.write_text("\n".join(found) + "\n", encoding="utf-8")
    print(f"wrote {len(found)} words to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
