"""`soundstage music eval`: realism with and without the critic, emotion control, speed.

Realism follows ../shared/notes/music.md §6: the eight MusPy-style features of generated pieces
against the **training corpus** (a sample of training pieces), mean Gaussian-KDE overlap area
(`realism.compare`). Everything is compared in the representation the model sees (token
streams decoded back to notes), so the numbers measure the model, not the tokenizer. Rows:

- held-out real (validation pieces): the upper anchor; random pitches on the same rhythms: a
  lower anchor;
- model: free samples, one per header drawn from validation pieces (so the condition mix is the
  corpus's);
- model + critic: best of `candidates` free samples by the critic's P(real);
- composed melodies: the melody line of composed cues (what `produce` uses: scale-steered
  phrases in a repeating form), one per random valence/arousal, 30 s and 60 s long, against the
  training pieces of the folk styles the cues are conditioned on (chorales left out), with the
  held-out folk tunes as that comparison's upper anchor.

The validation split is chorale-heavy (the JSB chorales keep their published split), so the
held-out anchor and the generation headers are drawn to match the training split's style mix.

Emotion control: cues composed at each quadrant's centre (±0.6, ±0.6), re-measured from their
notes: mode by Krumhansl–Schmuckler (`tokens.estimate_key`) on the whole arrangement, tempo,
note density (notes/s over all tracks) and the arousal score used to label the corpus.
Copying: the 60-second cue melodies checked for 16-note runs (intervals and rhythm, any key)
found in any training piece (`music.copying`).
Speed: compose + render of a 60-second cue, best of three, in seconds per minute of music.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.music.compose import Composer, CueRequest
from soundstage.music.copying import check
from soundstage.music.generate import MusicModel
from soundstage.music.realism import compare, random_pitches
from soundstage.music.tokens import Conditions, arousal_score, estimate_key
from soundstage.music.types import Piece, Track, note_density

QUADRANT_CENTRES = {"Q1": (0.6, 0.6), "Q2": (-0.6, 0.6), "Q3": (-0.6, -0.6), "Q4": (0.6, -0.6)}
Log = Callable[[str], object]


class Corpus:
    """The prepared token splits, each loaded once, and every decoded piece kept.

    Evaluation decodes thousands of pieces (the copying check reads the whole training split)
    and several comparisons share some of them; decoding through miditok is the slow part.
    """

    def __init__(self, model: MusicModel, data: Path) -> None:
        self.model, self.data = model, data
        self._splits: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._pieces: dict[tuple[str, int], Piece] = {}

    def split(self, part: str) -> tuple[np.ndarray, np.ndarray]:
        if part not in self._splits:
            self._splits[part] = (
                np.load(self.data / f"{part}.npy"),
                np.load(self.data / f"{part}_offsets.npy"),
            )
        return self._splits[part]

    def size(self, part: str) -> int:
        return len(self.split(part)[1]) - 1

    def styles(self, part: str) -> np.ndarray:
        """The Style_* token id of every piece (the token after BOS)."""
        ids, offsets = self.split(part)
        return ids[offsets[:-1] + 1].astype(np.int64)

    def ids(self, part: str, i: int, limit: int | None = None) -> list[int]:
        ids, offsets = self.split(part)
        end = offsets[i + 1] if limit is None else min(offsets[i + 1], offsets[i] + limit)
        return ids[offsets[i] : end].tolist()

    def pieces(self, part: str, indices: Iterable[int]) -> list[Piece]:
        out = []
        for i in indices:
            key = (part, int(i))
            if key not in self._pieces:
                self._pieces[key] = self.model.tok.decode(self.ids(part, int(i)))
            out.append(self._pieces[key])
        return out


def pick_like_train(corpus: Corpus, part: str, n: int, seed: int) -> list[int]:
    """Indices of `n` pieces of `part`, drawn so their Style mix matches the training split.

    The validation split is not a random sample of the corpus (the JSB chorales keep their
    published split, so chorales are 27% of validation but 6% of training); comparing it, or
    headers drawn from it, with training pieces would measure the mix, not the music.
    """
    train_styles = corpus.styles("train")
    styles = corpus.styles(part)
    kinds, counts = np.unique(train_styles, return_counts=True)
    share = dict(zip(kinds.tolist(), (counts / counts.sum()).tolist(), strict=True))
    here = {k: int((styles == k).sum()) for k in set(styles.tolist())}
    weights = np.array([share.get(int(s), 0.0) / here[int(s)] for s in styles])
    rng = np.random.default_rng(seed)
    size = min(n, int((weights > 0).sum()))
    return sorted(rng.choice(len(styles), size=size, replace=False, p=weights / weights.sum()))


def corpus_pieces(corpus: Corpus, part: str, n: int, seed: int) -> list[Piece]:
    return corpus.pieces(part, pick_like_train(corpus, part, n, seed))


def melodic_pieces(corpus: Corpus, n: int, seed: int) -> list[Piece]:
    """Training pieces in the melodic folk styles (not chorales): what composed cues' melodies
    are conditioned on (`frame.STYLE_OF_QUADRANT`), so the like-for-like reference for them."""
    styles = corpus.styles("train")
    chorale = corpus.model.ids["Style_chorale"]
    order = np.random.default_rng(seed).permutation(len(styles))
    pick = [int(i) for i in order if styles[i] != chorale][:n]
    return corpus.pieces("train", sorted(pick))


def headers(corpus: Corpus, n: int, seed: int) -> list[Conditions]:
    """Conditioning headers of `n` random training pieces (the corpus's condition mix)."""
    pick = np.random.default_rng(seed).integers(0, corpus.size("train"), size=n)
    return [corpus.model.tok.header_conditions(corpus.ids("train", i, limit=6)) for i in pick]


def free_samples(
    composer: Composer, conds: list[Conditions], seed: int, candidates: int = 1
) -> list[Piece]:
    model, rng = composer.model, np.random.default_rng(seed)
    return [
        model.tok.decode(
            model.sample_best(
                cond, rng, candidates=candidates, critic=composer.critic, max_tokens=512
            )
        )
        for cond in conds
    ]


def _monophonic(piece: Piece) -> bool:
    """Folk tunes are one line; chorales are four voices (used to pick like-for-like anchors)."""
    onsets = [round(n.start, 3) for n in piece.notes]
    return len(set(onsets)) >= 0.9 * len(onsets)


def melody_only(piece: Piece) -> Piece:
    lead = next(t for t in piece.tracks if t.name == "melody")
    return Piece((Track(0, False, "melody", lead.notes),), tempo_bpm=piece.tempo_bpm)


def realism(composer: Composer, data: Path, samples: int, log: Log) -> dict[str, Any]:
    corpus = Corpus(composer.model, data)
    reference = corpus_pieces(corpus, "train", 500, seed=1)
    held_out = corpus_pieces(corpus, "val", samples, seed=2)
    rng = np.random.default_rng(3)
    rows: dict[str, Any] = {}

    def add(name: str, pieces: list[Piece], began: float, ref: list[Piece] = reference) -> None:
        report = compare(ref, pieces, yl=False)
        rows[name] = {
            "mean_oa": round(report.mean_oa, 4),
            "mean_kl": round(report.mean_kl, 4),
            "n": report.n_generated,
            "reference": len(ref),
            "seconds": round(time.perf_counter() - began, 1),
            "features": {f.name: round(f.oa, 3) for f in report.features},
        }
        log(f"realism {name}: OA {report.mean_oa:.3f} ({rows[name]['seconds']} s)")

    t = time.perf_counter()
    add("held-out real", held_out, t)
    add("random pitches", [random_pitches(p, rng) for p in held_out], t)
    conds = headers(corpus, samples, seed=4)
    t = time.perf_counter()
    add("model", free_samples(composer, conds, seed=5), t)
    if composer.critic is not None:
        t = time.perf_counter()
        best_of = f"model + critic (best of {composer.candidates})"
        add(best_of, free_samples(composer, conds, 5, composer.candidates), t)
    melodic = melodic_pieces(corpus, 500, seed=7)
    add(
        "held-out real, folk styles only",
        [p for p in held_out if p.tracks and _monophonic(p)],
        t,
        melodic,
    )
    va = np.random.default_rng(6).uniform(-0.9, 0.9, size=(samples, 2))
    for seconds in (30.0, 60.0):
        t = time.perf_counter()
        melodies = [
            melody_only(composer.compose(CueRequest(float(v), float(a), seconds, seed=i)).piece)
            for i, (v, a) in enumerate(va)
        ]
        add(f"composed cue melodies ({seconds:.0f} s) vs folk styles", melodies, t, melodic)
    rows["copying (60 s cue melodies vs every training piece)"] = copied = check(
        melodies, corpus.pieces("train", range(corpus.size("train")))
    ).to_json()
    log(f"copying: {copied}")
    return rows


def emotion_control(composer: Composer, per_quadrant: int, log: Log) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for quad, (v, a) in QUADRANT_CENTRES.items():
        pieces = [
            composer.compose(CueRequest(v, a, 30.0, seed=100 + i)).piece
            for i in range(per_quadrant)
        ]
        target_major = v > 0
        modes = [estimate_key(p)[1] == "major" for p in pieces]
        out[quad] = {
            "target": {"valence": v, "arousal": a, "mode": "major" if target_major else "minor"},
            "mode_accuracy": round(sum(m == target_major for m in modes) / len(modes), 3),
            "tempo_bpm": round(statistics.mean(p.tempo_bpm for p in pieces), 1),
            "notes_per_s": round(statistics.mean(note_density(p) for p in pieces), 2),
            "arousal_score": round(statistics.mean(arousal_score(p) for p in pieces), 3),
            "mean_velocity": round(
                statistics.mean(n.velocity for p in pieces for t in p.tracks for n in t.notes), 1
            ),
        }
        log(f"emotion {quad}: {out[quad]}")
    return out


def speed(composer: Composer, log: Log, repeats: int = 3) -> dict[str, Any]:
    from soundstage.music.render import render

    times, engine = [], ""
    for i in range(repeats):
        began = time.perf_counter()
        piece = composer.compose(CueRequest(0.4, 0.3, 60.0, seed=200 + i)).piece
        composed = time.perf_counter() - began
        rendering = render(piece, seconds=60.0)
        times.append((time.perf_counter() - began, composed))
        engine = rendering.engine
    best = min(times)
    result = {
        "seconds_per_minute": round(best[0], 2),
        "compose_s": round(best[1], 2),
        "render_s": round(best[0] - best[1], 2),
        "real_time_factor": round(60.0 / best[0], 1),
        "render_engine": engine,
    }
    log(f"speed: {result}")
    return result


def evaluate(
    model_dir: Path | None, data: Path, *, samples: int = 100, log: Log | None = None
) -> dict[str, Any]:
    from soundstage.music.setup import load_composer

    say: Log = log or (lambda message: None)
    composer = load_composer(model_dir, critic=True)
    return {
        "model": composer.model.config.get("params"),
        "realism": realism(composer, data, samples, say),
        "emotion": emotion_control(composer, max(2, samples // 10), say),
        "speed": speed(composer, say),
    }


def markdown(result: dict[str, Any]) -> str:
    lines = ["| set | mean OA | mean KL | n |", "|---|---|---|---|"]
    for name, row in result["realism"].items():
        if "mean_oa" not in row:
            lines.append(f"| {name} | {row} | | |")
            continue
        lines.append(f"| {name} | {row['mean_oa']:.3f} | {row['mean_kl']:.2f} | {row['n']} |")
    lines += [
        "",
        "| quadrant | target mode | mode accuracy | tempo | notes/s | arousal score | velocity |",
        "|---|---|---|---|---|---|---|",
    ]
    for quad, row in result["emotion"].items():
        lines.append(
            f"| {quad} | {row['target']['mode']} | {row['mode_accuracy']:.2f} | "
            f"{row['tempo_bpm']} | {row['notes_per_s']} | {row['arousal_score']} | "
            f"{row['mean_velocity']} |"
        )
    s = result["speed"]
    lines += [
        "",
        f"Speed: {s['seconds_per_minute']} s per minute of music (compose {s['compose_s']} s + "
        f"render {s['render_s']} s with {s['render_engine']}), {s['real_time_factor']}× real time.",
    ]
    return "\n".join(lines)
