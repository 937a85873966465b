"""Every labelled moderation set in ../shared/data/mod, read into one shape (issue #17).

    folder → Source(name, texts, unacceptable, hate, split, licence)

Why one shape: the classifier has to hold up outside the data it was tuned on, and the only
way to see that is to train on some sources and test on another (leave one source out). So
each source maps its own labels onto two shared ones:

- ``unacceptable`` (1/0): offensive, toxic or hateful by the source's own definition;
- ``hate`` (1/0, −1 where the source does not say): attacks a protected group.

| source | text | unacceptable | hate |
|---|---|---|---|
| olid | tweets (OffensEval 2019; train + test A) | A = OFF | C = GRP |
| davidson | tweets (Davidson et al. 2017) | hate or offensive | hate |
| wikipedia | Wikipedia talk comments (ConversationAI non-fuzzed test set) | toxic | — |
| stormfront | forum sentences (de Gibert et al. 2018) | hate | hate |
| madlibs | identity templates (Dixon et al. 2018) | BAD | — |

Stormfront's "relation" sentences (hateful only with their neighbours) and "idk/skip" are left
out: on their own they carry no label. ``split`` keeps a source's own test split ("test")
where it has one (OLID test A, Stormfront's balanced test sample) so tuning never reads it.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from soundstage.errors import SoundstageError

__all__ = ["SOURCES", "Source", "read_source", "read_sources"]


@dataclass(frozen=True)
class Source:
    name: str
    texts: list[str]
    unacceptable: NDArray[np.int8]  # 1 offensive/toxic/hateful, 0 acceptable
    hate: NDArray[np.int8]  # 1 hate, 0 not, -1 the source does not say
    split: NDArray[np.str_]  # "train", "test" (the source's own test split) or ""
    licence: str

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, mask: NDArray[np.bool_]) -> Source:
        index = np.flatnonzero(mask)
        return Source(
            self.name,
            [self.texts[i] for i in index],
            self.unacceptable[index],
            self.hate[index],
            self.split[index],
            self.licence,
        )


def _source(name: str, rows: list[tuple[str, int, int, str]], licence: str) -> Source:
    return Source(
        name,
        [r[0] for r in rows],
        np.array([r[1] for r in rows], dtype=np.int8),
        np.array([r[2] for r in rows], dtype=np.int8),
        np.array([r[3] for r in rows], dtype=np.str_),
        licence,
    )


def _olid(folder: Path) -> Source:
    rows = []
    with (folder / "olid-training-v1.0.tsv").open(encoding="utf-8", newline="") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) == 5 and row[0] != "id":
                off = row[2] == "OFF"
                rows.append((row[1], int(off), int(off and row[4] == "GRP"), "train"))

    def labels(name: str) -> dict[str, str]:
        with (folder / name).open(encoding="utf-8", newline="") as f:
            return {r[0]: r[1] for r in csv.reader(f) if len(r) == 2 and r[0] != "id"}

    a, c = labels("labels-levela.csv"), labels("labels-levelc.csv")
    with (folder / "testset-levela.tsv").open(encoding="utf-8", newline="") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) == 2 and row[0] in a:
                off = a[row[0]] == "OFF"
                rows.append((row[1], int(off), int(c.get(row[0]) == "GRP"), "test"))
    return _source("olid", rows, "CC BY 4.0 (host repository); research use with citation")


def _davidson(folder: Path) -> Source:
    with (folder / "labeled_data.csv").open(encoding="utf-8", newline="") as f:
        rows = [
            (r["tweet"], int(r["class"] != "2"), int(r["class"] == "0"), "")
            for r in csv.DictReader(f)
        ]
    return _source("davidson", rows, "MIT")


def _wikipedia(folder: Path) -> Source:
    with (folder / "toxicity_nonfuzzed_testset.csv").open(encoding="utf-8", newline="") as f:
        rows = [
            (r["comment"].strip(), int(r["toxic"] == "True"), -1, "") for r in csv.DictReader(f)
        ]
    return _source("wikipedia", rows, "CC BY 4.0 (ConversationAI); text CC BY-SA (Wikipedia)")


def _stormfront(folder: Path) -> Source:
    with (folder / "stormfront.csv").open(encoding="utf-8", newline="") as f:
        rows = [
            (r["text"], int(r["label"] == "hate"), int(r["label"] == "hate"), r["split"])
            for r in csv.DictReader(f)
            if r["label"] in ("hate", "noHate")
        ]
    return _source("stormfront", rows, "CC BY-SA 3.0 ES (share-alike)")


def _madlibs(folder: Path) -> Source:
    with (folder / "bias_madlibs_77k.csv").open(encoding="utf-8", newline="") as f:
        rows = [(r["Text"], int(r["Label"] == "BAD"), -1, "") for r in csv.DictReader(f)]
    return _source("madlibs", rows, "CC BY 4.0")


SOURCES: dict[str, tuple[str, Callable[[Path], Source]]] = {
    "olid": ("olid", _olid),
    "davidson": ("davidson_hate_offensive", _davidson),
    "wikipedia": ("conversationai_bias_eval", _wikipedia),
    "stormfront": ("stormfront", _stormfront),
    "madlibs": ("conversationai_bias_eval", _madlibs),
}


def read_source(name: str, data_dir: Path) -> Source:
    """One source from the data folder (../shared/data/mod)."""
    if name not in SOURCES:
        raise SoundstageError(f"no moderation source {name!r}", hint=", ".join(SOURCES))
    folder, reader = SOURCES[name]
    path = data_dir / folder
    if not path.is_dir():
        raise SoundstageError(f"{path}: the {name} data is not there")
    try:
        return reader(path)
    except (OSError, KeyError, UnicodeDecodeError) as exc:
        raise SoundstageError(f"{path}: cannot read the {name} data ({exc})") from None


def read_sources(data_dir: Path, names: list[str] | None = None) -> list[Source]:
    return [read_source(name, data_dir) for name in (names or list(SOURCES))]
