"""Load the shipped composer: the music model and, when present, its realism critic."""

from __future__ import annotations

from pathlib import Path

from soundstage.music.compose import Composer
from soundstage.music.generate import DEFAULT_MODEL, MusicModel

CRITIC_FILE = "critic.safetensors"


def load_composer(
    model_dir: Path | None = None, *, critic: bool = True, candidates: int = 3
) -> Composer:
    """The composer for `model_dir` (default: the packaged model), with its critic if wanted."""
    folder = model_dir or DEFAULT_MODEL
    model = MusicModel.load(folder)
    judge = None
    if critic and (folder / CRITIC_FILE).exists():
        from soundstage.music.critic import Critic

        judge = Critic.load(folder)
    return Composer(model, judge, candidates=candidates)
