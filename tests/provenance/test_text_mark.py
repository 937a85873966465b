"""The text watermark end to end: real samplers mark, the detector finds our mark only."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_soundstage

from soundstage.backends import load_backend
from soundstage.provenance.keys import watermark_key
from soundstage.provenance.text_mark import (
    MUSIC_DELTA,
    TextWatermark,
    detect_text,
    detect_tokens,
    green_mask,
    is_green,
    tokenizer_for,
)
from soundstage.settings import Settings, load_settings

PROMPT = "ROMEO:\n"


def _write(settings: Settings, seed: int = 1, tokens: int = 200) -> str:
    with load_backend("embedded", settings) as backend:
        return backend.complete(PROMPT, max_tokens=tokens, temperature=0.8, seed=seed).text


def test_green_lists_are_pinned_and_a_quarter_of_the_vocabulary() -> None:
    # The scheme must never drift: text marked today is detected by every later version.
    key = bytes(range(32))
    assert np.flatnonzero(green_mask(key, 7, 64)).tolist() == [
        5, 6, 7, 10, 11, 19, 21, 25, 26, 30, 40, 41, 47, 53, 54, 62, 63,
    ]  # fmt: skip
    big = green_mask(key, 123, 49152)
    assert abs(big.mean() - 0.25) < 0.01
    assert all(big[v] == is_green(key, 123, v) for v in range(0, 49152, 997))
    mark = TextWatermark(key)
    logits = np.zeros(4096, dtype=np.float32)
    assert set(np.unique(mark.bias(logits, 9))) == {0.0, 1.5}


def test_embedded_text_is_marked_and_only_our_key_sees_it(settings: Settings) -> None:
    text = _write(settings)
    tok = tokenizer_for("embedded")
    ours = detect_text(text, watermark_key(settings), tok)
    assert ours.marked and ours.z > 4 and ours.units >= 100, ours
    other = detect_text(text, bytes(32), tok)
    assert not other.marked and other.z < 4, other


def test_watermark_off_gives_unmarked_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOUNDSTAGE_WATERMARK", "0")
    settings = load_settings()
    assert settings.watermark is False
    assert getattr(load_backend("embedded", settings), "watermark", 1) is None
    result = detect_text(_write(settings), watermark_key(settings), tokenizer_for("embedded"))
    assert not result.marked and result.z < 4, result


def test_human_text_is_not_flagged(shared: Callable[..., Path]) -> None:
    # Fixed keys: with one random key, the mean z over windows of one text drifts (the same
    # common bigrams recur in every window, so windows are not independent); over keys the
    # z-scores of human text centre on 0 and none passes the threshold.
    text = (shared("script", "tinyshakespeare") / "input.txt").read_text(encoding="utf-8")
    tok = tokenizer_for("embedded")
    ids = tok.encode(text[:60_000])
    zs = [
        detect_tokens(ids[i : i + 200], bytes([k]) * 32).z
        for k in range(6)
        for i in range(0, len(ids) - 200, 200)
    ]
    assert len(zs) > 300 and max(zs) < 4, max(zs)
    assert abs(float(np.mean(zs))) < 0.5, float(np.mean(zs))


def test_music_sampler_leans_green(settings: Settings) -> None:
    # 271 grammar-bound REMI tokens repeat their bigrams, so the unique-pair z-test is weak
    # on music (docs/benchmarks.md): check the sampler leans green, with a fixed key.
    from soundstage.music.setup import load_composer
    from soundstage.music.tokens import Conditions

    model = load_composer(critic=False, settings=settings).model
    assert model.watermark is not None  # on by default, with the installation's key
    assert model.watermark.delta == MUSIC_DELTA
    key = bytes(32)
    cond = Conditions("air", "major", "moderate", "mid", "Q4")

    def green_share(mark: TextWatermark | None) -> float:
        model.watermark = mark
        ids = model.sample_piece(cond, np.random.default_rng(0), max_tokens=400)[6:]
        return float(np.mean([is_green(key, a, b) for a, b in zip(ids[:-1], ids[1:], strict=True)]))

    assert green_share(TextWatermark(key, delta=MUSIC_DELTA)) > 0.4
    assert green_share(None) < 0.3


def test_cli_detects_reports_and_refuses_bad_input(settings: Settings, tmp_path: Path) -> None:
    marked = tmp_path / "scene.txt"
    marked.write_text(_write(settings), encoding="utf-8")
    done = run_soundstage("detect", str(marked), "--model", "embedded", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["marked"] and report["z"] > 4 and report["fpr"] < 1e-4
    short = tmp_path / "short.txt"
    short.write_text("ROMEO:\nGood night.\n", encoding="utf-8")
    done = run_soundstage("detect", str(short))
    assert done.returncode == 3 and "too short to tell" in done.stdout
    binary = tmp_path / "x.txt"
    binary.write_bytes(b"\xff\xfe\x00bad")
    for path, why in ((tmp_path / "gone.txt", "no such file"), (binary, "not UTF-8")):
        done = run_soundstage("detect", str(path))
        assert done.returncode == 2 and str(path) in done.stderr and why in done.stderr


@pytest.mark.slow
def test_local_writer_marks_and_keeps_its_constraint(settings: Settings) -> None:
    import regex

    from soundstage.backends.base import Sampling
    from soundstage.errors import BackendUnavailable

    try:
        backend = load_backend("local", settings)
    except BackendUnavailable as exc:
        pytest.skip(f"the local writer is not installed: {exc}")
    started = time.perf_counter()
    # The model may end a sample early (EOS) on some keys and CPUs: pool seeds until the text
    # is long enough to tell, as `detect` would be used on a page rather than on one line.
    prompt = "INT. HOSPITAL CORRIDOR - NIGHT\n\nWrite the scene that follows.\n\n"
    texts: list[str] = []
    for seed in range(2, 10):
        sampling = Sampling(max_tokens=120, temperature=0.9, seed=seed)
        texts += [out.text for out in backend.sample(prompt, 1, sampling)]
        result = detect_text("\n".join(texts), watermark_key(settings), tokenizer_for("local"))
        if result.units >= 180:  # δ 1.5: z ≈ 8 at 190 tokens (min 4.8 over 24 passages)
            break
    assert result.marked, (result, texts)
    pattern = r" [A-Z][a-z]{2,7} [A-Z][a-z]{2,10}\n"
    names = backend.sample(
        "Name a sailor:", 3, Sampling(max_tokens=8, seed=1, stop=("\n",)), pattern
    )
    assert all(regex.fullmatch(pattern, n.text + "\n") for n in names), names
    assert time.perf_counter() - started < 300


def test_cli_sends_wav_files_to_the_audio_detector(settings: Settings, tmp_path: Path) -> None:
    import wave

    from soundstage.provenance.audio_mark import embed

    rate = 22050
    t = np.arange(rate * 12) / rate
    tone = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * np.random.default_rng(0).normal(size=t.size)
    marked = embed(tone.astype(np.float32), rate, watermark_key(settings))
    path = tmp_path / "cue.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(marked, -1, 1) * 32767).astype("<i2").tobytes())
    done = run_soundstage("detect", str(path), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["kind"] == "audio"
