"""The embedded backend: our own small dialogue model, in-process, offline, on numpy.

Streaming detokenisation: the byte-level tokenizer can split one character over two
tokens, so text is emitted only once it decodes cleanly; and text that could still turn
out to be the start of a stop string is held back until it cannot.

Watermark: with a `TextWatermark` (given by `load_backend` from the settings), δ is added to
the green logits of the previous token's list before `sample_token` applies temperature and
top-k/top-p (see soundstage.provenance.text_mark).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from threadpoolctl import ThreadpoolController

from soundstage.backends.base import Chunk, Sampling, TextBackend
from soundstage.errors import BackendUnavailable

if TYPE_CHECKING:
    from soundstage.provenance.text_mark import TextWatermark

DEFAULT_MODEL = "drama-lm"
# One decode step is a few small matrix-vector products: BLAS threads only add sync cost,
# and under CPU contention OpenBLAS's spinning threads make it ~10x slower. Decode on one.
_BLAS = ThreadpoolController()
T = TypeVar("T")


def shipped_models_dir() -> Path:
    return Path(str(resources.files("soundstage") / "models"))


def resolve_model_dir(name_or_path: str | None) -> Path:
    """`None` → the shipped default; a bare name → a shipped model; else a directory path."""
    name = name_or_path or DEFAULT_MODEL
    shipped = shipped_models_dir() / name
    path = shipped if (shipped / "config.json").exists() else Path(name).expanduser()
    if not (path / "config.json").exists():
        raise BackendUnavailable(
            f"embedded model {name!r} not found (no config.json in {path})",
            hint="use 'embedded' for the shipped model or 'embedded:/path/to/model-dir'",
        )
    return path


def list_shipped_models(kind: str = "text") -> list[dict[str, object]]:
    """Shipped model folders of one kind: "text" (dialogue) or "music" (the composer's)."""
    out = []
    root = shipped_models_dir()
    for config in sorted(root.glob("*/config.json")):
        data = json.loads(config.read_text())
        if data.get("kind", "text") != kind:
            continue
        size = sum(p.stat().st_size for p in config.parent.glob("*.safetensors"))
        out.append(
            {
                "name": config.parent.name,
                "params": data.get("params"),
                "val_loss": data.get("val_loss"),
                "bytes": size,
                "path": str(config.parent),
            }
        )
    return out


class EmbeddedBackend(TextBackend):
    def __init__(
        self, model_dir: Path, *, spec: str = "embedded", watermark: TextWatermark | None = None
    ) -> None:
        from soundstage.lm.runtime import NumpyGPT
        from soundstage.lm.tokenizer import load_tokenizer

        super().__init__(model=model_dir.name, spec=spec)
        self.model_dir = model_dir
        self.watermark = watermark
        try:
            self.lm = NumpyGPT.load(model_dir)
            self.tokenizer = load_tokenizer(model_dir / "tokenizer.json")
        except (OSError, KeyError, ValueError) as exc:
            raise BackendUnavailable(
                f"embedded model in {model_dir} cannot be loaded: {exc}",
                hint="retrain it with `python -m soundstage.lm.train` or reinstall soundstage",
            ) from None
        eot = self.tokenizer.token_to_id("<|endoftext|>")
        if eot is None:
            raise BackendUnavailable(f"tokenizer in {model_dir} has no <|endoftext|> token")
        self.eot: int = eot

    @classmethod
    def load(
        cls,
        name_or_path: str | None = None,
        *,
        spec: str = "embedded",
        watermark: TextWatermark | None = None,
    ) -> EmbeddedBackend:
        return cls(resolve_model_dir(name_or_path), spec=spec, watermark=watermark)

    def window(self) -> tuple[int, bool] | None:
        return int(self.lm.cfg.block_size), True  # reads the last block, generates past it

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text).ids)

    @staticmethod
    def _run(fn: Callable[[T], np.ndarray], arg: T) -> np.ndarray:
        with _BLAS.limit(limits=1, user_api="blas"):
            return fn(arg)

    def _stream(self, prompt: str, sampling: Sampling) -> Iterator[Chunk]:
        from soundstage.lm.sampling import sample_token

        prompt_ids = self.tokenizer.encode(prompt).ids or [self.eot]
        rng = np.random.default_rng(sampling.seed)
        logits = self.lm.prefill(prompt_ids)  # a matrix product: BLAS threads help here
        generated: list[int] = []
        emitted = 0  # characters of the decoded completion already yielded
        hold = max((len(s) for s in sampling.stop), default=1) - 1
        finish: str = "length"
        text = ""
        prev = prompt_ids[-1]
        while len(generated) < sampling.max_tokens:
            if self.watermark is not None:
                logits = self.watermark.bias(logits, prev)
            token = prev = sample_token(
                logits, rng, sampling.temperature, sampling.top_k, sampling.top_p
            )
            if token == self.eot:
                finish = "stop"
                break
            generated.append(token)
            text = self.tokenizer.decode(generated)
            if text.endswith("\ufffd"):  # half a UTF-8 character: wait for the rest
                logits = self._run(self.lm.step, token)
                continue
            cut = _find_stop(text, sampling.stop, max(0, emitted - hold))
            if cut is not None:
                text = text[:cut]
                finish = "stop"
                break
            safe = len(text) - hold if sampling.stop else len(text)
            if safe > emitted:
                yield Chunk(text[emitted:safe])
                emitted = safe
            if len(generated) < sampling.max_tokens:
                logits = self._run(self.lm.step, token)
        yield Chunk(
            text[emitted:],
            finish_reason="stop" if finish == "stop" else "length",
            prompt_tokens=len(prompt_ids),
            completion_tokens=len(generated),
        )


def _find_stop(text: str, stops: tuple[str, ...], start: int) -> int | None:
    hits = [i for i in (text.find(s, start) for s in stops) if i >= 0]
    return min(hits) if hits else None
