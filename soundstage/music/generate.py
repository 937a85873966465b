"""Sample music from the trained model, with the constraints a cue needs.

The model (`soundstage/models/music-remi`, trained by `soundstage.music.train`) predicts REMI
tokens after a conditioning header. Film cues need more than free sampling, so every step is
masked by a small grammar and by the cue's musical frame:

- **Grammar**: Bar → TimeSig (forced) → Position → Pitch → Velocity → Duration → (Pitch |
  Position | Bar); positions never go backwards or past the bar; EOS only when allowed. The
  stream is valid by construction, so nothing has to be repaired afterwards.
- **Frame**: pitches from the cue's scale (`allowed_pcs`, which is how a mode change reaches the
  model: masked outright, or softly penalised so idiomatic accidentals survive) and register
  window (`low..high`); exactly `bars` bars, then stop.
- **Primer**: a phrase may start from given tokens (a leitmotif, the previous phrase), which the
  model then continues: how a cue quotes and develops a character's motif.

`to_notes` reads a REMI body back into `BeatNote`s (times in beats, 4/4 or 3/4 as generated),
the unit the arranger works in; `MusicTokenizer.decode` remains the path for whole pieces.

Watermark: a model given a `TextWatermark` (soundstage.provenance.text_mark; `load_composer`
passes the installation's) adds δ to the green logits of the previous token's list in
`_pick`, before the grammar/frame mask, so the stream stays valid by construction; pitches
the frame softly penalises (outside the scale) are never lifted by it.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from threadpoolctl import ThreadpoolController

from soundstage.errors import ConfigError
from soundstage.lm.runtime import NumpyGPT
from soundstage.music.tokens import Conditions, MusicTokenizer

if TYPE_CHECKING:
    from soundstage.provenance.text_mark import TextWatermark

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "music-remi"
POSITIONS_PER_BEAT = 4  # beat_res (0, 4): 4 → 16th-note grid


class Scorer(Protocol):
    """Anything that scores token-id sequences by realism (the critic)."""

    def logits(self, ids_list: list[list[int]]) -> np.ndarray: ...


@functools.cache
def _blas() -> ThreadpoolController:
    """Decoding is matrix-vector products: one BLAS thread is faster (as in backends.embedded)."""
    return ThreadpoolController()


@dataclass(frozen=True, slots=True)
class BeatNote:
    """A note in beats (quarter notes) from the start of its phrase or cue."""

    pitch: int
    start: float
    length: float
    velocity: int = 80

    @property
    def end(self) -> float:
        return self.start + self.length


@dataclass(frozen=True)
class PhraseRequest:
    cond: Conditions
    bars: int
    beats_per_bar: int = 4
    allowed_pcs: frozenset[int] | None = None
    # None: pitches outside `allowed_pcs` are masked. A number: they stay possible with their
    # logit lowered by it, so idiomatic accidentals (the raised leading tone in minor, a
    # chromatic passing note) survive while the mode still dominates.
    outside_penalty: float | None = None
    low: int = 21
    high: int = 108
    primer: tuple[str, ...] = ()  # REMI tokens (starting with Bar_None) to continue from
    context: tuple[str, ...] = ()  # earlier music, in context but not part of the phrase
    temperature: float = 1.0
    top_p: float = 0.95
    max_tokens: int = 1200


def _kind(token: str) -> str:
    return token.partition("_")[0]


def duration_beats(token: str) -> float:
    """`Duration_1.2.4` → 1 + 2/4 beats."""
    whole, part, res = token.split("_", 1)[1].split(".")
    return int(whole) + int(part) / int(res)


class MusicModel:
    """The numpy GPT plus the tokenizer and precomputed token classes for masking."""

    def __init__(self, model_dir: Path, watermark: TextWatermark | None = None) -> None:
        if not (model_dir / "config.json").exists():
            raise ConfigError(
                f"music model not found in {model_dir}",
                hint="train one: python -m soundstage.music.train --out " + str(model_dir),
            )
        self.dir = model_dir
        self.watermark = watermark
        self.config = json.loads((model_dir / "config.json").read_text())
        self.lm = NumpyGPT.load(model_dir)
        self.tok = MusicTokenizer.load(model_dir / "tokenizer.json")
        vocab = self.tok.vocab
        size = len(vocab)
        self.size = size
        self.ids = vocab
        self.names = [self.tok.id_to_token[i] for i in range(size)]

        def mask(pred: object) -> np.ndarray:
            return np.array([bool(pred(n)) for n in self.names])  # type: ignore[operator]

        self.is_pitch = mask(lambda n: _kind(n) == "Pitch")
        self.is_velocity = mask(lambda n: _kind(n) == "Velocity")
        self.is_duration = mask(lambda n: _kind(n) == "Duration")
        self.is_position = mask(lambda n: _kind(n) == "Position")
        self.pitch_of = np.array([int(n[6:]) if _kind(n) == "Pitch" else -1 for n in self.names])
        self.position_of = np.array(
            [int(n[9:]) if _kind(n) == "Position" else -1 for n in self.names]
        )
        self.bar = vocab["Bar_None"]
        self.eos = vocab["EOS_None"]

    @classmethod
    def load(
        cls, model_dir: Path | None = None, *, watermark: TextWatermark | None = None
    ) -> MusicModel:
        return cls(model_dir or DEFAULT_MODEL, watermark)

    def header(self, cond: Conditions) -> list[int]:
        return [self.tok.bos] + [self.ids[t] for t in cond.tokens()]

    # --- sampling ---------------------------------------------------------------------------

    def _pick(
        self,
        logits: np.ndarray,
        allowed: np.ndarray,
        req: PhraseRequest,
        rng: np.random.Generator,
        prev: int | None = None,
        markable: np.ndarray | None = None,
    ) -> int:
        if self.watermark is not None and prev is not None:
            # δ on green tokens; never on pitches the frame penalises (`markable` false).
            green = self.watermark.green(prev, logits.shape[-1])
            if markable is not None:
                green = green & markable
            logits = logits + np.float32(self.watermark.delta) * green
        masked = np.where(allowed, logits / max(req.temperature, 1e-3), -np.inf)
        probs = np.exp(masked - masked.max())
        probs /= probs.sum()
        order = np.argsort(-probs)
        cum = np.cumsum(probs[order])
        keep = order[: int(np.searchsorted(cum, req.top_p)) + 1]
        p = probs[keep] / probs[keep].sum()
        return int(keep[rng.choice(len(keep), p=p)])

    def sample_phrase(self, req: PhraseRequest, rng: np.random.Generator) -> list[str]:
        """Exactly `req.bars` bars of REMI tokens (primer included), valid by construction."""
        with _blas().limit(limits=1, user_api="blas"):
            return self._sample_phrase(req, rng)

    def _sample_phrase(self, req: PhraseRequest, rng: np.random.Generator) -> list[str]:
        ts = f"TimeSig_{req.beats_per_bar}/4"
        pitch_ok = self.is_pitch & (self.pitch_of >= req.low) & (self.pitch_of <= req.high)
        bias = np.zeros(self.size, dtype=np.float32)
        if req.allowed_pcs is not None:
            in_scale = np.isin(self.pitch_of % 12, np.array(sorted(req.allowed_pcs)))
            if req.outside_penalty is None:
                pitch_ok &= in_scale
            else:
                bias[self.is_pitch & ~in_scale] = -req.outside_penalty
        if not pitch_ok.any():
            raise ConfigError(f"no pitch in {req.low}..{req.high} fits the requested scale")
        positions = req.beats_per_bar * POSITIONS_PER_BEAT
        phrase = list(req.primer) or ["Bar_None", ts]
        ids = self.header(req.cond) + [self.ids[t] for t in [*req.context, *phrase]]
        ids = ids[:6] + ids[6:][-(self.lm.cfg.block_size - 8) :]
        logits = self.lm.prefill(ids)
        bars = sum(t == "Bar_None" for t in phrase)
        position = max(
            (int(t[9:]) for t in _current_bar(phrase) if t.startswith("Position_")), default=-1
        )
        last = _kind(phrase[-1])
        for _ in range(req.max_tokens):
            allowed = np.zeros(self.size, dtype=bool)
            if last == "Bar":
                token = ts
            elif last == "Pitch":
                allowed |= self.is_velocity
            elif last == "Velocity":
                allowed |= self.is_duration
            elif last in ("TimeSig", "Position"):
                allowed |= pitch_ok if last == "Position" else self.is_position
                if last == "TimeSig":
                    allowed &= (self.position_of >= 0) & (self.position_of < positions)
            else:  # after a Duration: another pitch here, a later position, or the next bar
                allowed |= pitch_ok
                allowed |= (
                    self.is_position
                    & (self.position_of > position)
                    & (self.position_of < positions)
                )
                allowed[self.bar] = True
            if last != "Bar":
                token = self.names[self._pick(logits + bias, allowed, req, rng, ids[-1], bias == 0)]
            if token == "Bar_None":
                if bars >= req.bars:
                    break
                bars += 1
                position = -1
            elif token.startswith("Position_"):
                position = int(token[9:])
            phrase.append(token)
            last = _kind(token)
            ids.append(self.ids[token])
            if len(self.lm.tokens) >= self.lm.cfg.block_size - 1:
                keep = ids[:6] + ids[6:][-(self.lm.cfg.block_size // 2) :]
                logits = self.lm.prefill(keep, reuse=False)
            else:
                logits = self.lm.step(self.ids[token])
        return _trim_incomplete(phrase)

    def sample_piece(
        self,
        cond: Conditions,
        rng: np.random.Generator,
        *,
        max_tokens: int = 600,
        top_p: float = 0.95,
    ) -> list[int]:
        """Free sampling from a header until EOS (the realism benchmark's raw generator)."""
        with _blas().limit(limits=1, user_api="blas"):
            return self._sample_piece(cond, rng, max_tokens, top_p)

    def _sample_piece(
        self, cond: Conditions, rng: np.random.Generator, max_tokens: int, top_p: float
    ) -> list[int]:
        ids = self.header(cond)
        logits = self.lm.prefill(ids)
        req = PhraseRequest(cond=cond, bars=0, top_p=top_p)
        allowed = np.ones(self.size, dtype=bool)
        for _ in range(max_tokens):
            token = self._pick(logits, allowed, req, rng, ids[-1])
            ids.append(token)
            if token == self.eos:
                break
            if len(self.lm.tokens) >= self.lm.cfg.block_size - 1:
                logits = self.lm.prefill(
                    ids[:6] + ids[6:][-(self.lm.cfg.block_size // 2) :], reuse=False
                )
            else:
                logits = self.lm.step(token)
        return ids

    def sample_best(
        self,
        cond: Conditions,
        rng: np.random.Generator,
        *,
        candidates: int = 1,
        critic: Scorer | None = None,
        max_tokens: int = 600,
    ) -> list[int]:
        """The free sample the critic finds most real among `candidates` (the first without one)."""
        options = [self.sample_piece(cond, rng, max_tokens=max_tokens) for _ in range(candidates)]
        if critic is None or len(options) == 1:
            return options[0]
        return options[int(np.argmax(critic.logits(options)))]


def _current_bar(tokens: list[str]) -> list[str]:
    for i in range(len(tokens) - 1, -1, -1):
        if tokens[i] == "Bar_None":
            return tokens[i:]
    return tokens


def _trim_incomplete(tokens: list[str]) -> list[str]:
    """Drop a trailing Pitch/Velocity without its Duration, and a trailing Position."""
    while tokens and _kind(tokens[-1]) in ("Pitch", "Velocity", "Position"):
        if _kind(tokens[-1]) == "Position":
            tokens = tokens[:-1]
            continue
        cut = max(i for i, t in enumerate(tokens) if _kind(t) == "Pitch")
        tokens = tokens[:cut]
    return tokens


def to_notes(tokens: list[str] | tuple[str, ...]) -> tuple[list[BeatNote], int]:
    """REMI body → (notes in beats, bars). Beats per bar follow each TimeSig_n/4 (default 4)."""
    notes: list[BeatNote] = []
    bar_start, bar_len, bars = -4.0, 4.0, 0
    onset = 0.0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        kind = _kind(token)
        if kind == "Bar":
            bar_start += bar_len if bars else 4.0
            bars += 1
            onset = bar_start
        elif kind == "TimeSig":
            num, den = token[8:].split("/")
            bar_len = int(num) * 4 / int(den)
        elif kind == "Position":
            onset = bar_start + int(token[9:]) / POSITIONS_PER_BEAT
        elif kind == "Pitch" and i + 2 < len(tokens):
            velocity = int(tokens[i + 1].split("_")[1])
            notes.append(BeatNote(int(token[6:]), onset, duration_beats(tokens[i + 2]), velocity))
            i += 3
            continue
        i += 1
    return notes, bars


def from_notes(notes: list[BeatNote], bars: int, beats_per_bar: int = 4) -> list[str]:
    """Notes in beats → REMI tokens (for priming the model with a motif); 16th-note grid."""
    by_bar: dict[int, list[BeatNote]] = {}
    for note in notes:
        by_bar.setdefault(int(note.start // beats_per_bar), []).append(note)
    out: list[str] = []
    for bar in range(bars):
        out += ["Bar_None", f"TimeSig_{beats_per_bar}/4"]
        last_pos = -1
        for note in sorted(by_bar.get(bar, []), key=lambda n: (n.start, n.pitch)):
            pos = round((note.start - bar * beats_per_bar) * POSITIONS_PER_BEAT)
            pos = min(max(pos, 0), beats_per_bar * POSITIONS_PER_BEAT - 1)
            if pos != last_pos:
                out.append(f"Position_{pos}")
                last_pos = pos
            out += [
                f"Pitch_{note.pitch}",
                _velocity_token(note.velocity),
                _duration_token(note.length),
            ]
    return out


VELOCITY_BINS = (15, 31, 47, 63, 79, 95, 111, 127)


def _velocity_token(velocity: int) -> str:
    return f"Velocity_{min(VELOCITY_BINS, key=lambda v: abs(v - velocity))}"


def _duration_token(beats: float) -> str:
    """Nearest REMI duration: 16ths up to 4 beats, 8ths up to 12."""
    beats = min(max(beats, 0.25), 12.0)
    if beats < 4:
        q = round(beats * 4)
        return f"Duration_{q // 4}.{q % 4}.4"
    q = round(beats * 2)
    return f"Duration_{q // 2}.{q % 2}.2"
