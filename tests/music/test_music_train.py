"""Music training windows never cross pieces; a tiny run writes a model the composer can load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from soundstage.music.tokens import MusicTokenizer
from soundstage.music.train import HEADER, IGNORE, Sampler, Split, val_windows, window

TOK = MusicTokenizer()
BAR = TOK.vocab["Bar_None"]
PAD = TOK.pad


def make_split(lengths: list[int], quadrant_ids: list[int]) -> Split:
    """Pieces whose body tokens encode the piece number, so a window shows where it came from."""
    pieces = []
    for n, (length, q) in enumerate(zip(lengths, quadrant_ids, strict=True)):
        header = [TOK.bos, 1000 + n, 2000, 3000, 4000, q]
        body = [BAR if i % 8 == 0 else 10_000 + n for i in range(length)]
        pieces.append(np.array([*header, *body, TOK.eos], dtype=np.int64))
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in pieces])])
    return Split(np.concatenate(pieces), offsets, pad=PAD, bar=BAR)


def test_windows_stay_inside_one_piece_and_start_with_its_header() -> None:
    split = make_split([40, 300, 12], [1, 1, 2])
    sampler = Sampler(split, np.array([1, 1, 2]), block=64, seed=0)
    for _ in range(20):
        x, y = sampler.batch(8)
        for row_x, row_y in zip(x.numpy(), y.numpy(), strict=True):
            assert row_x[0] == TOK.bos
            piece = row_x[1] - 1000
            body = row_x[HEADER:][row_x[HEADER:] != PAD]
            assert set(body.tolist()) <= {BAR, 10_000 + piece, TOK.eos}
            assert body[0] == BAR  # bar-aligned start
            assert (row_y[row_x == PAD] == IGNORE).all()  # padding is never a target


def test_short_piece_is_padded_and_its_eos_is_learned() -> None:
    split = make_split([10], [1])
    x, y = window(split, 0, 0, block=32)
    real = HEADER + 10 + 1  # header + body + EOS
    assert (x[: real - 1] != PAD).all() and (x[real - 1 :] == PAD).all()
    assert y[real - 2] == TOK.eos and (y[real - 1 :] == IGNORE).all()


def test_balanced_sampling_favours_the_rare_quadrant() -> None:
    split = make_split([100] * 10, [1] * 9 + [2])
    sampler = Sampler(split, np.array([1] * 9 + [2]), block=32, seed=0)
    share = sampler.p[-1]
    assert share > 1 / 10  # by tokens alone it would be 0.1
    assert share == pytest.approx(1 / (1 + 9 / 3), rel=1e-6)  # weight ∝ tokens / √count


def test_validation_windows_cover_every_piece_deterministically() -> None:
    split = make_split([40, 90], [1, 2])
    a, _ = val_windows(split, block=32, limit=100)
    b, _ = val_windows(split, block=32, limit=100)
    assert (a == b).all()
    assert {int(r[1]) - 1000 for r in a.numpy()} == {0, 1}


def test_tiny_training_run_writes_a_loadable_music_model(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from soundstage.lm.config import load_recipe
    from soundstage.music.generate import MusicModel, PhraseRequest, to_notes
    from soundstage.music.tokens import Conditions
    from soundstage.music.train import train

    data = tmp_path / "data"
    data.mkdir()
    for part, lengths in (("train", [60, 80, 50]), ("val", [40])):
        split = make_split(lengths, [TOK.vocab["Emotion_Q1"]] * len(lengths))
        ids = np.where(split.ids >= len(TOK), TOK.vocab["Pitch_60"], split.ids)
        np.save(data / f"{part}.npy", ids.astype(np.uint16))
        np.save(data / f"{part}_offsets.npy", split.offsets)
    TOK.save(data / "tokenizer.json")
    (data / "meta.json").write_text(
        json.dumps({"splits": {}, "emotion_quadrants": {}, "licences": {}, "corpus": {}})
    )
    recipe = load_recipe(
        None,
        [
            "model.vocab_size=271",
            "model.block_size=32",
            "model.n_layer=1",
            "model.n_head=2",
            "model.n_embd=16",
            "train.max_iters=3",
            "train.eval_interval=2",
            "train.batch_size=4",
            "train.device=cpu",
        ],
    )
    summary = train(recipe, data, tmp_path / "model")
    assert summary["kind"] == "music" and summary["steps"] == 3
    model = MusicModel.load(tmp_path / "model")
    cond = Conditions("irish", "major", "fast", "mid", "Q1")
    tokens = model.sample_phrase(PhraseRequest(cond, bars=2), np.random.default_rng(0))
    assert to_notes(tokens)[1] == 2
