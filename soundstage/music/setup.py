"""Load the shipped composer: the music model and, when present, its realism critic.

The music model samples with this installation's keyed token watermark unless
`settings.watermark` is off (soundstage.provenance.text_mark); without `settings`, the
environment's settings are used.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from soundstage.music.compose import Composer
from soundstage.music.generate import DEFAULT_MODEL, MusicModel

if TYPE_CHECKING:
    from soundstage.settings import Settings

CRITIC_FILE = "critic.safetensors"


def load_composer(
    model_dir: Path | None = None,
    *,
    critic: bool = True,
    candidates: int = 3,
    settings: Settings | None = None,
) -> Composer:
    """The composer for `model_dir` (default: the packaged model), with its critic if wanted."""
    from soundstage.provenance.text_mark import MUSIC_DELTA, text_watermark
    from soundstage.settings import load_settings

    folder = model_dir or DEFAULT_MODEL
    mark = text_watermark(settings or load_settings(), delta=MUSIC_DELTA)
    model = MusicModel.load(folder, watermark=mark)
    judge = None
    if critic and (folder / CRITIC_FILE).exists():
        from soundstage.music.critic import Critic

        judge = Critic.load(folder)
    return Composer(model, judge, candidates=candidates)
