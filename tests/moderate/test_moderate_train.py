"""Training on a tiny synthetic OLID + Davidson folder: a loadable, pickle-free model in seconds."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest

from soundstage.moderate.classifier import Classifier

pytest.importorskip("sklearn", reason="training needs scikit-learn (the train extra)")

from soundstage.moderate.train import HEADS, identity_augment, load_dataset, main, train

BAD = ["idiot", "moron", "loser", "stupid", "scum"]
GROUPS = ["immigrants", "liberals", "conservatives", "muslims", "women"]
SWEAR = ["fuck", "shit", "damn", "crap"]
NICE = ["lovely", "sunny", "great", "kind", "delicious", "calm", "bright"]
NOUNS = ["day", "film", "song", "dinner", "walk", "garden", "book"]


def _tweets(rng: random.Random) -> list[tuple[str, str, str, str]]:
    rows = []
    for _ in range(150):
        rows.append((f"what a {rng.choice(NICE)} {rng.choice(NOUNS)} today", "NOT", "NULL",
                     "NULL"))  # fmt: skip
    for _ in range(50):
        rows.append((f"@USER you are a {rng.choice(BAD)}", "OFF", "TIN", "IND"))
        rows.append((f"all {rng.choice(GROUPS)} are {rng.choice(BAD)}s", "OFF", "TIN", "GRP"))
        rows.append((f"{rng.choice(SWEAR)} this {rng.choice(NOUNS)}", "OFF", "UNT", "NULL"))
    return rows


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    rng = random.Random(0)
    root = tmp_path / "mod"
    (root / "olid").mkdir(parents=True)
    (root / "davidson_hate_offensive").mkdir()
    with (root / "olid" / "olid-training-v1.0.tsv").open("w", encoding="utf-8") as f:
        f.write("id\ttweet\tsubtask_a\tsubtask_b\tsubtask_c\n")
        for i, row in enumerate(_tweets(rng)):
            f.write(f"{i}\t" + "\t".join(row) + "\n")
    with (root / "davidson_hate_offensive" / "labeled_data.csv").open(
        "w", encoding="utf-8", newline=""
    ) as f:
        w = csv.writer(f)
        w.writerow(["", "count", "hate_speech", "offensive_language", "neither", "class", "tweet"])
        for i in range(90):
            cls = i % 3
            text = [
                f"those {rng.choice(GROUPS)} are vermin",
                f"{rng.choice(SWEAR)} that {rng.choice(NOUNS)}",
                f"such a {rng.choice(NICE)} {rng.choice(NOUNS)}",
            ][cls]
            w.writerow([i, 3, int(cls == 0) * 3, int(cls == 1) * 3, int(cls == 2) * 3, cls, text])
    return root


def test_train_writes_a_loadable_model(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    messages: list[str] = []
    config = train(data_dir, out, bits=14, cs=(1.0,), progress=lambda m, _f: messages.append(m))
    assert messages[0] == "loading data" and messages[-1] == "done"
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "weights.npz"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".model-")]  # temp dir gone
    on_disk = json.loads((out / "config.json").read_text())
    assert on_disk["heads"] == list(HEADS) == config["heads"]
    assert set(on_disk["training"]["files"]) == {
        "olid/olid-training-v1.0.tsv",
        "davidson_hate_offensive/labeled_data.csv",
    }
    assert all(len(h) == 64 for h in on_disk["training"]["files"].values())
    with np.load(out / "weights.npz", allow_pickle=False) as npz:
        assert npz["weights"].shape == (1 << 14, len(HEADS))
    clf = Classifier.load(out)
    bad, good = clf.score(["you are a moron", "what a lovely sunny day"])
    tox = clf.categories.index("toxicity")
    assert bad[tox] > good[tox]


def test_retraining_keeps_other_files(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    train(data_dir, out, bits=12, cs=(1.0,))
    (out / "MODEL_CARD.md").write_text("card")
    train(data_dir, out, bits=12, cs=(1.0,), seed=14)
    assert (out / "MODEL_CARD.md").read_text() == "card"
    assert json.loads((out / "config.json").read_text())["training"]["seed"] == 14


def test_identity_balance_adds_counterfactuals(data_dir: Path) -> None:
    tr, _ = load_dataset(data_dir, seed=13)
    aug = identity_augment(tr, seed=13)
    assert len(aug.texts) > len(tr.texts)
    added = aug.texts[len(tr.texts) :]
    assert any("muslim" not in t and "women" not in t for t in added)
    assert (aug.labels[aug.source == 2] == 0).all()  # neutral mentions are non-toxic


def test_missing_data_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: training data not found") and "\n" not in err
    assert not (tmp_path / "m").exists()
