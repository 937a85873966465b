"""Audio watermark (issue #15): detection after each transformation, false positives, SNR, cost.

Marked set: `--pieces` JSB chorales (test, then valid split) rendered with the numpy synthesizer
at 44.1 kHz and at 22.05 kHz, the GM program rotating through piano, strings, organ, flute,
guitar and brass; each marked with a fixed benchmark key. From each, one 10 s excerpt at a
random offset per transformation: none, MP3 128 kbps (lame, decoded by ffmpeg), 22.05 → 44.1 kHz,
44.1 → 22.05 kHz, +6 dB (clipped to full scale, as a 16-bit file would be), −6 dB.
Detection rate = share of excerpts with z above the threshold for FPR ≤ 1e-3.

Null set (unmarked music): every JSB chorale (382, the same program rotation, 22.05 kHz) and
`--m21` tunes of the music21 corpus (O'Neill's 1850 ABC book), two 10 s excerpts each, scored
with `--keys` random keys each, plus the marked excerpts scored with a wrong key.

Run: `.venv/bin/python benchmarks/audio_watermark.py [--pieces 60] [--m21 100] [--keys 3]`
(needs ../shared/data, lame and ffmpeg). Prints a Markdown section for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from soundstage.music.corpus import _jsb_data, load_unit, piece_from_jsb, units  # noqa: E402
from soundstage.music.render import Rendering, render, wav_bytes  # noqa: E402
from soundstage.music.types import Piece  # noqa: E402
from soundstage.provenance.audio_mark import (  # noqa: E402
    FPR,
    detect,
    detect_file,
    embed,
    snr_db,
)

Audio = npt.NDArray[np.float32]
PROGRAMS = {0: "piano", 48: "strings", 19: "organ", 73: "flute", 24: "guitar", 56: "brass"}
KEY = b"audio-watermark-benchmark-key-32"
EXCERPT_S = 10.0


def voiced(piece: Piece, program: int) -> Piece:
    tracks = tuple(replace(t, program=program) for t in piece.tracks)
    return replace(piece, tracks=tracks)


def jsb_pieces(limit: int | None) -> Iterator[tuple[str, Piece]]:
    data = _jsb_data(Path(__file__).resolve().parents[2] / "shared/data/music/jsb_chorales")
    n = 0
    for split in ("test", "valid", "train"):
        for i, steps in enumerate(data[split]):
            if limit is not None and n >= limit:
                return
            program = list(PROGRAMS)[n % len(PROGRAMS)]
            yield (
                f"jsb {split}#{i} {PROGRAMS[program]}",
                voiced(piece_from_jsb(steps, title=""), program),
            )
            n += 1


def m21_pieces(limit: int) -> Iterator[tuple[str, Piece]]:
    for n, unit in enumerate(units("oneills1850", limit=limit)):
        program = list(PROGRAMS)[n % len(PROGRAMS)]
        try:
            piece = load_unit(unit)
        except Exception:  # noqa: BLE001 - a tune music21 cannot parse is skipped
            continue
        yield f"m21 {unit.id}", voiced(piece, program)


def excerpt(audio: Audio, rate: int, rng: np.random.Generator) -> Audio:
    size = round(EXCERPT_S * rate)
    start = int(rng.integers(0, max(1, len(audio) - size + 1)))
    return audio[start : start + size]


def resample(audio: Audio, rate_from: int, rate_to: int) -> Audio:
    g = np.gcd(rate_from, rate_to)
    return resample_poly(audio, rate_to // g, rate_from // g, axis=0).astype(np.float32)


def mp3_roundtrip(audio: Audio, rate: int, tmp: Path) -> tuple[Path, int]:
    wav, mp3 = tmp / "in.wav", tmp / "in.mp3"
    wav.write_bytes(wav_bytes(Rendering(audio, rate, "bench")))
    subprocess.run(["lame", "--quiet", "-b", "128", str(wav), str(mp3)], check=True)
    return mp3, rate


def transforms(
    marked44: Audio, marked22: Audio, rng: np.random.Generator, tmp: Path
) -> dict[str, Callable[[], tuple[Audio | Path, int]]]:
    def crop(audio: Audio, rate: int) -> Callable[[], tuple[Audio | Path, int]]:
        return lambda: (excerpt(audio, rate, rng), rate)

    def mp3() -> tuple[Audio | Path, int]:
        path, rate = mp3_roundtrip(excerpt(marked44, 44100, rng), 44100, tmp)
        return path, rate

    x44 = excerpt(marked44, 44100, rng)
    x44b = excerpt(marked44, 44100, rng)
    return {
        "10 s crop (44.1 kHz, no other change)": crop(marked44, 44100),
        "MP3 128 kbps (lame → ffmpeg)": mp3,
        "resample 22.05 → 44.1 kHz": lambda: (
            resample(excerpt(marked22, 22050, rng), 22050, 44100),
            44100,
        ),
        "resample 44.1 → 22.05 kHz": lambda: (resample(x44, 44100, 22050), 22050),
        "+6 dB (clipped at full scale)": lambda: (np.clip(x44b * 2.0, -1.0, 1.0), 44100),
        "−6 dB": lambda: (excerpt(marked44, 44100, rng) * 0.5, 44100),
    }


def marked_runs(pieces: int, rng: np.random.Generator) -> dict[str, object]:
    zs: dict[str, list[float]] = defaultdict(list)
    snrs: list[float] = []
    wrong: list[float] = []
    seconds_audio = embed_s = detect_s = 0.0
    threshold = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for _, piece in jsb_pieces(pieces):
            a44 = render(piece, sample_rate=44100, engine="numpy").audio
            a22 = render(piece, sample_rate=22050, engine="numpy").audio
            t0 = time.perf_counter()
            m44 = embed(a44, 44100, KEY)
            embed_s += time.perf_counter() - t0
            seconds_audio += len(a44) / 44100
            m22 = embed(a22, 22050, KEY)
            snrs += [snr_db(a44, m44), snr_db(a22, m22)]
            for name, make in transforms(m44, m22, rng, Path(tmp)).items():
                sample, rate = make()
                t0 = time.perf_counter()
                found = (
                    detect_file(sample, KEY)
                    if isinstance(sample, Path)
                    else detect(sample, rate, KEY)
                )
                if not isinstance(sample, Path):
                    detect_s += time.perf_counter() - t0
                zs[name].append(found.z)
                threshold = found.threshold
            wrong.append(detect(excerpt(m44, 44100, rng), 44100, secrets.token_bytes(32)).z)
    return {
        "zs": zs,
        "snr": snrs,
        "wrong": wrong,
        "threshold": threshold,
        "embed_per_min": embed_s / seconds_audio * 60,
        "detect_per_min": detect_s / (5 * pieces * EXCERPT_S) * 60,
    }


def null_runs(
    source: Iterator[tuple[str, Piece]], keys: int, rng: np.random.Generator
) -> list[float]:
    zs: list[float] = []
    for _, piece in source:
        audio = render(piece, sample_rate=22050, engine="numpy").audio
        for _ in range(2):
            clip = excerpt(audio, 22050, rng)
            zs += [detect(clip, 22050, secrets.token_bytes(32)).z for _ in range(keys)]
            zs.append(detect(clip, 22050, KEY).z)
    return zs


def report(
    marked: dict[str, object], nulls: dict[str, list[float]], args: argparse.Namespace
) -> str:
    zs: dict[str, list[float]] = marked["zs"]  # type: ignore[assignment]
    threshold = float(marked["threshold"])  # type: ignore[arg-type]
    snr: list[float] = marked["snr"]  # type: ignore[assignment]
    lines = [
        "## Audio watermark (issue #15)",
        "",
        "`benchmarks/audio_watermark.py "
        f"--pieces {args.pieces} --m21 {args.m21} --keys {args.keys}` (numpy synthesizer; "
        "soundstage.provenance.audio_mark: multiplicative spread spectrum, 1–6 kHz STFT bands, "
        f"pattern period 1.02 s, blind detection; threshold z ≥ {threshold:.2f} for a family-wise "
        f"FPR ≤ {FPR:g} per 10 s excerpt, Hoeffding + union bound over 128 alignments).",
        "",
        f"Marked: {args.pieces} JSB chorales, program rotating piano / strings / organ / flute / "
        "guitar / brass, one 10 s excerpt at a random offset per transformation.",
        "",
        "| transformation | detected | z min | z median |",
        "|---|---|---|---|",
    ]
    for name, values in zs.items():
        rate = sum(z >= threshold for z in values) / len(values)
        lines.append(
            f"| {name} | {rate:.3f} ({sum(z >= threshold for z in values)}/{len(values)}) "
            f"| {min(values):.1f} | {statistics.median(values):.1f} |"
        )
    lines += [
        "",
        f"SNR of the mark (44.1 and 22.05 kHz renders): min {min(snr):.1f} dB, median "
        f"{statistics.median(snr):.1f} dB, max {max(snr):.1f} dB.",
        "",
        "| unmarked / wrong key | excerpts × keys | false positives | FPR | z max | z mean |",
        "|---|---|---|---|---|---|",
    ]
    nulls = {**nulls, "marked excerpts, wrong key": marked["wrong"]}  # type: ignore[dict-item]
    for name, values in nulls.items():
        fp = sum(z >= threshold for z in values)
        lines.append(
            f"| {name} | {len(values)} | {fp} | {fp / len(values):.4f} | {max(values):.2f} "
            f"| {statistics.fmean(values):.2f} |"
        )
    lines += [
        "",
        f"Cost: embedding {marked['embed_per_min']:.2f} s per minute of stereo 44.1 kHz audio "
        f"(both channels); detection {marked['detect_per_min']:.2f} s per minute.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pieces", type=int, default=60)
    parser.add_argument("--m21", type=int, default=100)
    parser.add_argument("--keys", type=int, default=3)
    args = parser.parse_args()
    for tool in ("lame", "ffmpeg"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed: apt-get install --no-install-recommends lame ffmpeg")
    rng = np.random.default_rng(15)
    marked = marked_runs(args.pieces, rng)
    nulls = {
        "JSB chorales (all 382), unmarked": null_runs(jsb_pieces(None), args.keys, rng),
        "music21 corpus (O'Neill 1850 tunes), unmarked": null_runs(
            m21_pieces(args.m21), args.keys, rng
        ),
    }
    print(report(marked, nulls, args))


if __name__ == "__main__":
    main()
