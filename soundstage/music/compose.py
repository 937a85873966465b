"""Compose one cue: emotion + duration (+ a character's motif) → an arranged, exact-length piece.

Data path: `CueRequest` → `frame_for` (key, mode, tempo, bars, palette) → melody, phrase by phrase,
from the music model (steered to the cue's scale, masked to its register; a motif primes the
first phrase) → best of N candidates by the realism critic → `arrange` (harmony, bass, pad,
percussion, cadence) → `Piece`.

Form: the melody is built from phrases of 4 bars (2 for short cues) in the pattern A B A′ C …,
where a repeated A is quoted literally and A′ keeps A's first half (the motif) and re-samples
its answer. Folk tunes and film themes repeat like this, and it keeps the model's work (and the
time it takes) proportional to the *distinct* music, not the cue's length. The last bar is the
cadence (V → I, melody on the tonic) and ends exactly at the out point.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from soundstage.music.arrange import arrange
from soundstage.music.frame import Frame, frame_for
from soundstage.music.generate import BeatNote, MusicModel, PhraseRequest, Scorer, to_notes
from soundstage.music.leitmotif import Motif, primer
from soundstage.music.types import Piece

FORM = "ABAC"
OUTSIDE_PENALTY = 1.5  # logit penalty for notes outside the cue's scale (see PhraseRequest)
REGISTER = (-12, 14)  # melody window around the frame's centre pitch, in semitones
CONTRAST_LIFT = 5  # contrasting sections (B, C…) sit higher, like the "turn" of a folk tune


@dataclass(frozen=True)
class CueRequest:
    valence: float
    arousal: float
    seconds: float
    style: str = "auto"
    seed: int = 0
    tonic: int | None = None
    motif: Motif | None = None
    title: str = ""


@dataclass(frozen=True)
class Composition:
    piece: Piece
    frame: Frame
    form: str
    tokens: list[str]
    motif: str | None = None
    critic_scores: list[float] = field(default_factory=list)
    seconds_spent: float = 0.0

    def summary(self) -> dict[str, object]:
        f = self.frame
        return {
            "key": f.key_name,
            "bpm": round(f.bpm, 2),
            "bars": f.bars,
            "time_signature": f"{f.beats_per_bar}/4",
            "style": f.style,
            "quadrant": f.quadrant,
            "programs": f.programs,
            "percussion": f.drums,
            "form": self.form,
            "motif": self.motif,
            "critic_logit_mean": round(float(np.mean(self.critic_scores)), 4)
            if self.critic_scores
            else None,
            "notes": self.piece.note_count,
        }


def form_for(body_bars: int) -> tuple[int, str]:
    """(phrase length in bars, section letters) covering `body_bars` bars."""
    phrase = 4 if body_bars >= 8 else 2 if body_bars >= 4 else max(1, body_bars)
    sections = -(-body_bars // phrase)
    letters = "".join(FORM[i % len(FORM)] for i in range(sections))
    # Past the first ABAC, keep the cycle but let later new material be new letters.
    out, fresh = [], iter("DEFGHIJKLMNOPQRSTUVWXYZ")
    for i, letter in enumerate(letters):
        out.append(letter if i < len(FORM) or letter == "A" else next(fresh, letter))
    return phrase, "".join(out)


class Composer:
    """Composes cues with the music model, optionally reranking phrases with a critic."""

    def __init__(
        self,
        model: MusicModel | None = None,
        critic: Scorer | None = None,
        candidates: int = 3,
        outside_penalty: float | None = OUTSIDE_PENALTY,
    ) -> None:
        self.model = model or MusicModel.load()
        self.outside_penalty = outside_penalty
        self.critic = critic
        self.candidates = max(1, candidates if critic is not None else 1)

    def _phrase(
        self,
        frame: Frame,
        bars: int,
        start: list[str],
        context: list[str],
        rng: np.random.Generator,
        lift: int = 0,
    ) -> tuple[list[str], float | None]:
        context = _recent_bars(context)
        request = PhraseRequest(
            cond=frame.conditions(),
            bars=bars,
            beats_per_bar=frame.beats_per_bar,
            allowed_pcs=frame.pitch_classes,
            outside_penalty=self.outside_penalty,
            low=frame.centre + REGISTER[0] + lift,
            high=frame.centre + REGISTER[1] + lift,
            primer=tuple(start),
            context=tuple(context),
            temperature=1.0,
            top_p=0.95,
        )
        options = [self.model.sample_phrase(request, rng) for _ in range(self.candidates)]
        if self.critic is None or len(options) == 1:
            return options[0], None
        header = self.model.header(request.cond)
        seqs = [header + [self.model.ids[t] for t in [*context, *o]] for o in options]
        scores = self.critic.logits(seqs)
        best = int(np.argmax(scores))
        return options[best], float(scores[best])

    def compose(self, request: CueRequest) -> Composition:
        began = time.perf_counter()
        frame = frame_for(
            request.valence,
            request.arousal,
            request.seconds,
            style=request.style,
            tonic=request.tonic,
            seed=request.seed,
        )
        rng = np.random.default_rng(request.seed)
        body = max(1, frame.bars - 1) if frame.bars > 1 else 1
        phrase_bars, letters = form_for(body)
        motif_tokens: list[str] = []
        if request.motif is not None:
            motif_tokens, motif_bars = primer(request.motif, frame)
            if motif_bars > phrase_bars:  # an augmented motif longer than a phrase: cut to fit
                cut = [i for i, t in enumerate(motif_tokens) if t == "Bar_None"][phrase_bars]
                motif_tokens = motif_tokens[:cut]
        made: dict[str, list[str]] = {}
        tokens: list[str] = []
        scores: list[float] = []
        for i, letter in enumerate(letters):
            if letter in made and letters[: i + 1].count(letter) % 2 == 0:
                phrase = self._vary(frame, made[letter], phrase_bars, tokens, rng, scores)
            elif letter in made:
                phrase = made[letter]
            else:
                start = motif_tokens if letter == "A" else []
                lift = 0 if letter == "A" else CONTRAST_LIFT
                phrase, score = self._phrase(frame, phrase_bars, start, tokens, rng, lift)
                made[letter] = phrase
                if score is not None:
                    scores.append(score)
            tokens += phrase
        melody = _melody(tokens, frame, body)
        piece = arrange(frame, melody, title=request.title)
        return Composition(
            piece=piece,
            frame=frame,
            form=letters,
            tokens=tokens,
            motif=request.motif.character if request.motif else None,
            critic_scores=scores,
            seconds_spent=time.perf_counter() - began,
        )

    def _vary(
        self,
        frame: Frame,
        phrase: list[str],
        bars: int,
        context: list[str],
        rng: np.random.Generator,
        scores: list[float],
    ) -> list[str]:
        """A′: keep the first half of A (the motif, when there is one) and re-sample the rest."""
        if bars < 2:
            return phrase
        bar_starts = [i for i, t in enumerate(phrase) if t == "Bar_None"]
        head = phrase[: bar_starts[bars // 2]] if len(bar_starts) > bars // 2 else phrase
        varied, score = self._phrase(frame, bars, head, context, rng)
        if score is not None:
            scores.append(score)
        return varied


def _recent_bars(tokens: list[str], limit: int = 160) -> list[str]:
    """The last whole bars within `limit` tokens (bar-aligned, as in training)."""
    tail = tokens[-limit:]
    first = next((i for i, t in enumerate(tail) if t == "Bar_None"), len(tail))
    return tail[first:]


def _melody(tokens: list[str], frame: Frame, body_bars: int) -> list[BeatNote]:
    notes, _ = to_notes(tokens)
    limit = body_bars * frame.beats_per_bar
    return [n for n in notes if n.start < limit]
