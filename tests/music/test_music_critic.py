"""The realism critic: scales and arpeggios (real) against the same streams with pitches scrambled.

Real pieces are built programmatically (stepwise runs and arpeggios in a few keys, regular
rhythm) and tokenised with `MusicTokenizer`; fakes keep every token but the pitches, which are
either permuted within the piece or redrawn uniformly from the piece's pitch range.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from soundstage.music import critic as cm
from soundstage.music.types import Note, Piece, Track

torch = pytest.importorskip("torch", reason="the train extra (torch) is not installed")
tokens = pytest.importorskip("soundstage.music.tokens", reason="the music extra is not installed")

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 11)
KEYS = (0, 7, 5, 2)  # C, G, F, D


def scale_piece(seed: int) -> Piece:
    """Eight phrases of a run up, a run down or an arpeggio, in even eighths or sixteenths."""
    rnd = random.Random(seed)
    tonic = 60 + rnd.choice(KEYS)
    scale = MAJOR if seed % 2 == 0 else MINOR
    degrees = [tonic + 12 * (d // 7) + scale[d % 7] for d in range(15)]
    step = rnd.choice([0.25, 0.5])
    notes: list[Note] = []
    t = 0.0
    for _ in range(8):
        kind, start = rnd.choice(["up", "down", "arp"]), rnd.randrange(0, 5)
        run = degrees[start : start + 8]
        phrase = {
            "up": run,
            "down": run[::-1],
            "arp": [degrees[start + k] for k in (0, 2, 4, 7, 4, 2, 0, 0)],
        }[kind]
        for pitch in phrase:
            notes.append(Note(pitch, t, t + step, 90))
            t += step
    return Piece((Track(0, False, "m", tuple(notes)),), tempo_bpm=120.0, time_signature=(4, 4))


def scramble(
    ids: list[int], pitch_ids: np.ndarray, rng: np.random.Generator, mode: int
) -> list[int]:
    a = np.array(ids)
    where = np.flatnonzero(np.isin(a, pitch_ids))
    if mode == 0:
        a[where] = a[rng.permutation(where)]
    else:
        a[where] = rng.integers(a[where].min(), a[where].max() + 1, where.size)
    return [int(i) for i in a]


@pytest.fixture(scope="module")
def tok() -> Any:
    return tokens.MusicTokenizer()


def make_set(tok: Any, seeds: range, rng_seed: int) -> tuple[list[list[int]], list[list[int]]]:
    pitch_ids = np.array([i for t, i in tok.vocab.items() if t.startswith("Pitch_")])
    rng = np.random.default_rng(rng_seed)
    real = [tok.encode(scale_piece(s)) for s in seeds]
    fake = [scramble(ids, pitch_ids, rng, i % 2) for i, ids in enumerate(real)]
    return real, fake


@pytest.fixture(scope="module")
def data(tok: Any) -> tuple[list[list[int]], list[list[int]]]:
    return make_set(tok, range(48), 0)


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def trained(
    tok: Any, data: tuple[list[list[int]], list[list[int]]], one_thread: None
) -> tuple[cm.Critic, dict[str, Any]]:
    real, fake = data
    return cm.train_critic(real, fake, tok, epochs=40, seed=0, log=lambda _: None)


def random_critic(tok: Any, seed: int = 0) -> cm.Critic:
    """Untrained weights: logits near 0, so probabilities are mid-range and comparable."""
    config = cm.CriticConfig.from_vocab(tok)
    torch.manual_seed(seed)
    return cm.to_numpy(cm.to_torch(config), config)


def body_tokens(tok: Any, n: int, seed: int) -> list[int]:
    """`n` random musical token ids behind a real header (only the body counts)."""
    rng = np.random.default_rng(seed)
    music = [i for t, i in tok.vocab.items() if t.partition("_")[0] not in cm.HEADER_KINDS]
    header = [tok.bos] + [tok.vocab[t] for t in ("Style_irish", "Mode_major", "Tempo_fast")]
    header += [tok.vocab["Density_mid"], tok.vocab["Emotion_Q1"]]
    return header + [int(i) for i in rng.choice(music, n)] + [tok.eos]


# --- token handling -----------------------------------------------------------------------------


def test_header_kinds_cover_the_tokenizers_conditions() -> None:
    assert set(tokens.CONDITION_TYPES) <= set(cm.HEADER_KINDS)


def test_body_ids_keeps_only_the_music_before_eos(tok: Any) -> None:
    v = tok.vocab
    music = [v["Bar_None"], v["TimeSig_4/4"], v["Position_0"], v["Pitch_60"]]
    music += [v["Velocity_95"], v["Duration_1.0.4"]]
    header = [tok.bos, v["Style_air"], v["Mode_minor"], v["Tempo_slow"], v["Density_low"]]
    ids = header + [v["Emotion_Q3"], tok.pad] + music + [999, -3, tok.eos, v["Pitch_62"], tok.pad]
    config = cm.CriticConfig.from_vocab(v)
    assert cm.body_ids(ids, config).tolist() == music
    assert config.vocab_size == len(tok) == 271


def test_crop_is_the_head_when_scoring_and_starts_on_a_bar_when_training(tok: Any) -> None:
    config = cm.CriticConfig.from_vocab(tok, max_len=64)
    body = cm.body_ids(body_tokens(tok, 300, seed=1), config)
    body[::10] = config.bar_id
    assert cm.crop(body, config, None).tolist() == body[:64].tolist()
    rng = np.random.default_rng(0)
    crops = [cm.crop(body, config, rng) for _ in range(20)]
    assert all(c.size == 64 and c[0] == config.bar_id for c in crops)
    assert len({c.tobytes() for c in crops}) > 1
    short = body[:10]
    assert cm.crop(short, config, rng).tolist() == short.tolist()


# --- metrics ------------------------------------------------------------------------------------


def test_roc_auc_is_the_mann_whitney_statistic() -> None:
    assert cm.roc_auc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert cm.roc_auc(np.array([1.0, 2.0]), np.array([3.0, 4.0])) == 0.0
    assert cm.roc_auc(np.array([1.0, 1.0]), np.array([1.0])) == 0.5
    real, fake = np.array([0.9, 0.4, 0.4, 0.1]), np.array([0.4, 0.2, 0.95])
    pairs = [(r > f) + 0.5 * (r == f) for r in real for f in fake]
    assert cm.roc_auc(real, fake) == pytest.approx(sum(pairs) / len(pairs))
    assert np.isnan(cm.roc_auc(np.array([]), fake))


# --- training -----------------------------------------------------------------------------------


def test_critic_tells_real_from_scrambled(
    trained: tuple[cm.Critic, dict[str, Any]], tok: Any
) -> None:
    critic, metrics = trained
    assert metrics["auc"] > 0.9, metrics
    assert metrics["n_real"] == metrics["n_fake"] == 48
    assert metrics["n_heldout_real"] == metrics["n_heldout_fake"] == 10
    assert critic.metrics == metrics
    # Pieces it never saw, in train or held-out.
    real, fake = make_set(tok, range(1000, 1030), 7)
    assert cm.roc_auc(critic.score(real), critic.score(fake)) > 0.9


def test_training_is_seeded(
    tok: Any, data: tuple[list[list[int]], list[list[int]]], one_thread: None
) -> None:
    real, fake = data
    a, _ = cm.train_critic(real, fake, tok, epochs=2, seed=3, log=lambda _: None)
    b, _ = cm.train_critic(real, fake, tok, epochs=2, seed=3, log=lambda _: None)
    assert np.array_equal(a.score(real[:8]), b.score(real[:8]))


def test_init_continues_from_the_given_weights(
    trained: tuple[cm.Critic, dict[str, Any]],
    tok: Any,
    data: tuple[list[list[int]], list[list[int]]],
) -> None:
    critic, _ = trained
    real, fake = make_set(tok, range(2000, 2020), 11)  # "round 2" samples
    lines: list[str] = []
    same, metrics = cm.train_critic(
        real, fake, tok, epochs=0, seed=1, init=critic, log=lines.append
    )
    assert metrics["init"] is True and metrics["best_epoch"] == 0
    assert np.allclose(same.score(data[0] + data[1]), critic.score(data[0] + data[1]), atol=1e-6)
    assert lines and "epoch 0" in lines[0]
    fresh, _ = cm.train_critic(real, fake, tok, epochs=0, seed=1, log=lambda _: None)
    assert not np.allclose(fresh.score(real), critic.score(real), atol=1e-3)


def test_init_with_another_vocabulary_is_refused(
    trained: tuple[cm.Critic, dict[str, Any]], data: tuple[list[list[int]], list[list[int]]]
) -> None:
    other = {"PAD_None": 0, "BOS_None": 1, "EOS_None": 2, "Bar_None": 3, "Pitch_60": 4}
    with pytest.raises(ValueError, match="vocabulary"):
        cm.train_critic(*data, other, epochs=0, init=trained[0], log=lambda _: None)


def test_too_few_sequences_are_refused(tok: Any) -> None:
    real = [body_tokens(tok, 50, seed=s) for s in range(5)]
    empty = [[tok.bos, tok.eos], [tok.bos, tok.eos], body_tokens(tok, 50, seed=9)]
    with pytest.raises(ValueError, match="at least 2 non-empty fake"):
        cm.train_critic(real, empty, tok, epochs=1, log=lambda _: None)


# --- numpy inference ----------------------------------------------------------------------------


def sequences(tok: Any) -> list[list[int]]:
    lengths = (1, 7, 120, 400, 700)  # 700 > max_len: cropped
    return [body_tokens(tok, n, seed=n) for n in lengths] + [[tok.bos, tok.eos]]


def test_numpy_scores_match_torch(trained: tuple[cm.Critic, dict[str, Any]], tok: Any) -> None:
    seqs = sequences(tok)
    for critic in (trained[0], random_critic(tok)):
        assert np.abs(critic.score(seqs) - cm.torch_score(critic, seqs)).max() < 1e-4


def test_numpy_logits_match_torch(tok: Any) -> None:
    critic = random_critic(tok, seed=5)
    bodies = [cm.crop(cm.body_ids(s, critic.config), critic.config, None) for s in sequences(tok)]
    ids, mask = cm.pad_batch(bodies[:-1])
    model = cm.to_torch(critic.config, critic.weights).eval()
    with torch.no_grad():
        want = cm.torch_logits(model, torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    got = critic.logits(sequences(tok)[:-1])
    assert np.abs(got - want).max() < 1e-4
    assert np.ptp(got) > 1e-3  # the comparison is not between constants


def test_a_score_does_not_depend_on_the_batch(tok: Any) -> None:
    critic = random_critic(tok, seed=2)
    seqs = sequences(tok)
    together = critic.score(seqs, batch_size=64)
    alone = np.array([critic.score([s])[0] for s in seqs])
    assert np.allclose(together, alone, atol=1e-6)
    assert np.allclose(critic.score(seqs, batch_size=2), together, atol=1e-6)


def test_empty_and_header_only_sequences_score_zero(tok: Any) -> None:
    critic = random_critic(tok)
    header_only = body_tokens(tok, 0, seed=0)
    after_eos = [tok.bos, tok.eos] + body_tokens(tok, 30, seed=1)
    seqs: list[Any] = [[], header_only, [tok.pad] * 5, after_eos, np.array([], dtype=np.int64)]
    with np.errstate(all="raise"):
        scores = critic.score(seqs)
        logits = critic.logits(seqs)
    assert scores.tolist() == [0.0] * 5
    assert np.all(np.isneginf(logits))
    assert critic.score([]).shape == (0,)
    mixed = critic.score([[], body_tokens(tok, 30, seed=1)])
    assert mixed[0] == 0.0 and 0.0 < mixed[1] < 1.0


def test_scoring_16_sequences_of_400_tokens_takes_under_20_ms(
    trained: tuple[cm.Critic, dict[str, Any]], tok: Any
) -> None:
    critic = trained[0]
    seqs = [body_tokens(tok, 400, seed=s) for s in range(16)]
    critic.score(seqs)  # warm-up (folds the embedding into conv1 once)
    best = float("inf")
    for _ in range(10):
        start = time.perf_counter()
        critic.score(seqs)
        best = min(best, time.perf_counter() - start)
    assert best < 0.020, f"{best * 1000:.1f} ms"


# --- persistence --------------------------------------------------------------------------------


def test_save_load_round_trip(
    trained: tuple[cm.Critic, dict[str, Any]], tok: Any, tmp_path: Path
) -> None:
    critic = trained[0]
    out = tmp_path / "critic"
    paths = critic.save(out)
    critic.save(out)  # overwriting is fine
    assert sorted(p.name for p in out.iterdir()) == ["critic.json", "critic.safetensors"]
    assert paths == [out / "critic.safetensors", out / "critic.json"]
    meta = json.loads((out / "critic.json").read_text())
    assert meta["config"]["vocab_size"] == 271 and meta["config"]["max_len"] == 512
    assert meta["metrics"]["auc"] == critic.metrics["auc"]
    loaded = cm.Critic.load(out)
    assert all(w.dtype == np.float32 for w in loaded.weights.values())
    assert loaded.config == critic.config
    seqs = sequences(tok)
    assert np.array_equal(loaded.score(seqs), critic.score(seqs))


def test_load_rejects_weights_that_do_not_fit_the_config(tok: Any, tmp_path: Path) -> None:
    random_critic(tok).save(tmp_path)
    meta = json.loads((tmp_path / "critic.json").read_text())
    meta["config"]["channels"] = 32
    (tmp_path / "critic.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="do not match"):
        cm.Critic.load(tmp_path)


def test_scoring_works_without_torch(tok: Any, tmp_path: Path) -> None:
    critic = random_critic(tok, seed=4)
    critic.save(tmp_path)
    seqs = sequences(tok)
    script = (
        "import json, sys\n"
        "sys.modules['torch'] = None  # any torch import now fails\n"
        "from soundstage.music.critic import Critic\n"
        f"print(json.dumps(Critic.load({str(tmp_path)!r}).score({seqs!r}).tolist()))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert np.allclose(json.loads(run.stdout), critic.score(seqs), atol=1e-7)
