"""A real (tiny) training run: the loss falls and the written model loads in numpy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from soundstage.lm.config import load_recipe
from soundstage.lm.corpus import Document, bosak_play, split
from soundstage.lm.prepare import prepare
from soundstage.lm.runtime import NumpyGPT

torch = pytest.importorskip("torch", reason="the train extra (torch) is not installed")

from soundstage.lm import train as train_mod  # noqa: E402

PLAY = """<PLAY><TITLE>A Test</TITLE>
<ACT><SCENE>
<SPEECH><SPEAKER>ANNA</SPEAKER>
<LINE>The tide is turning, <STAGEDIR>Aside</STAGEDIR>come away.</LINE></SPEECH>
<STAGEDIR>Exit BEN</STAGEDIR>
<SPEECH><SPEAKER>BEN</SPEAKER><SPEAKER>CARA</SPEAKER>
<LINE>We follow.</LINE><LINE>We always do.</LINE></SPEECH>
</SCENE></ACT></PLAY>
"""


def test_bosak_plays_become_speaker_turns(tmp_path: Path) -> None:
    path = tmp_path / "play.xml"
    path.write_text(PLAY)
    doc = bosak_play(path)
    assert doc.text == (
        "ANNA:\nThe tide is turning, Asidecome away.\n\nBEN and CARA:\nWe follow.\nWe always do.\n"
    )


def test_split_cuts_at_a_turn_boundary() -> None:
    text = "".join(f"A{i}:\nline {i}\n\n" for i in range(100))
    train, val = split(Document("x", text), 0.1)
    assert train + val == text
    assert train.endswith("\n\n") and val.startswith("A")
    assert 0.05 < len(val) / len(text) < 0.15


def _corpus(root: Path) -> Path:
    turns = []
    rng = np.random.default_rng(0)
    names = ["ANNA", "BEN", "CARA"]
    words = "the tide is turning come away we follow always do night falls on the sea".split()
    for _ in range(1500):
        line = " ".join(rng.choice(words, size=6))
        turns.append(f"{rng.choice(names)}:\n{line.capitalize()}.\n")
    folder = root / "tinyshakespeare"
    folder.mkdir(parents=True)
    (folder / "input.txt").write_text("\n".join(turns))
    return root


def test_tiny_training_run_learns_and_exports_a_loadable_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    meta = prepare(_corpus(tmp_path / "script"), data, vocab_size=300)
    assert meta["train_tokens"] > meta["val_tokens"] > 0
    monkeypatch.setattr(train_mod, "SHARD_BYTES", 40_000)  # force several shards
    recipe = load_recipe(
        None,
        [
            "model.vocab_size=300",
            "model.block_size=32",
            "model.n_layer=2",
            "model.n_head=2",
            "model.n_embd=32",
            "model.dropout=0.0",
            "train.max_iters=120",
            "train.eval_interval=40",
            "train.batch_size=16",
            "train.learning_rate=3e-3",
            "train.device=cpu",
            "train.patience=0",
        ],
    )
    out = tmp_path / "model"
    summary = train_mod.train(recipe, data, out, log_every=1000)
    history = summary["history"]
    assert history[-1]["val_loss"] < history[0]["val_loss"] - 1.0
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["n_embd"] == 32 and config["val_loss"] == summary["val_loss"]
    shards = sorted(out.glob("model-*.safetensors"))
    assert len(shards) > 1
    lm = NumpyGPT.load(out)
    assert lm.prefill([1, 2, 3]).shape == (300,)


def test_recipe_overrides_are_checked() -> None:
    with pytest.raises(ValueError, match="no field"):
        load_recipe(None, ["train.nope=1"])
    with pytest.raises(ValueError, match="must look like"):
        load_recipe(None, ["max_iters"])
    assert load_recipe(None, ["train.max_iters=7"]).train.max_iters == 7


def test_recipes_in_configs_load() -> None:
    root = Path(__file__).resolve().parents[2] / "configs"
    gpu = load_recipe(root / "lm_gpu.toml")
    cpu = load_recipe(root / "lm_cpu.toml")
    assert gpu.model.n_layer == 8 and cpu.train.device == "cpu"


def test_best_keeper_keeps_the_best_weights_and_stops_after_patience() -> None:
    import torch

    from soundstage.lm.train import BestKeeper

    model = torch.nn.Linear(2, 1, bias=False)
    keeper = BestKeeper(patience=2)
    with torch.no_grad():
        model.weight.fill_(1.0)
    assert keeper.update(0.5, 10, model) is False
    with torch.no_grad():
        model.weight.fill_(2.0)
    assert keeper.update(0.7, 20, model) is False  # worse: one stale eval
    assert keeper.update(0.6, 30, model) is True  # still worse than 0.5: patience spent
    assert (keeper.best, keeper.best_step) == (0.5, 10)
    assert torch.equal(keeper.state["weight"], torch.ones(1, 2))  # a copy, not the live tensor
    assert BestKeeper(patience=0).update(1.0, 0, model) is False
