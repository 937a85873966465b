"""A GGUF model run in-process by llama-cpp-python (the optional `soundstage[llamacpp]` extra).

The file is checked before the import so that a wrong path is reported even on machines
without the extra: that is the more likely mistake and the cheaper one to fix.

A `TextWatermark` is applied through llama-cpp-python's `logits_processor` hook (numpy
scores, biased by the green list of the last token); not exercised in CI, where the extra is
not installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from soundstage.backends.base import Chunk, Sampling, TextBackend
from soundstage.errors import BackendError, BackendUnavailable

if TYPE_CHECKING:
    from soundstage.provenance.text_mark import TextWatermark

__all__ = ["LlamaCppBackend"]

INSTALL_HINT = "pip install 'soundstage[llamacpp]'"


@dataclass
class LlamaCppBackend(TextBackend):
    """Wraps a `llama_cpp.Llama`; not thread-safe, like the library itself."""

    llama: Any = field(default=None, repr=False, compare=False)
    watermark: TextWatermark | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(
        cls, path: str, *, spec: str, n_ctx: int = 4096, watermark: TextWatermark | None = None
    ) -> LlamaCppBackend:
        file = Path(path).expanduser()
        if not file.is_file():
            raise BackendUnavailable(
                f"GGUF model file {file} does not exist",
                hint="use llamacpp:/absolute/path/to/model.gguf",
            )
        try:
            from llama_cpp import Llama
        except ImportError:
            raise BackendUnavailable(
                "the llamacpp backend needs llama-cpp-python, which is not installed",
                hint=INSTALL_HINT,
            ) from None
        try:
            llama = Llama(model_path=str(file), n_ctx=n_ctx, verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            raise BackendError(
                f"llama.cpp cannot load {file}: {exc}", hint="is it a GGUF file for this version?"
            ) from None
        return cls(model=file.stem, spec=spec, llama=llama, watermark=watermark)

    def window(self) -> tuple[int, bool] | None:
        return (int(self.llama.n_ctx()), False) if self.llama is not None else None

    def _stream(self, prompt: str, sampling: Sampling) -> Iterator[Chunk]:
        prompt_tokens = len(self.llama.tokenize(prompt.encode("utf-8")))
        pieces = 0
        finish = "length"
        events = self.llama.create_completion(
            prompt,
            max_tokens=sampling.max_tokens,
            temperature=sampling.temperature,  # 0 is greedy in llama.cpp too
            top_p=sampling.top_p,
            top_k=sampling.top_k or 0,  # 0 turns top-k off, as our None does
            stop=list(sampling.stop) or None,
            seed=sampling.seed,
            stream=True,
            logits_processor=self._processors(),
        )
        for event in events:
            choice = event["choices"][0]
            if choice.get("text"):
                pieces += 1
                yield Chunk(choice["text"])
            if choice.get("finish_reason"):
                finish = choice["finish_reason"]
        yield Chunk(
            "",
            finish_reason="length" if finish == "length" else "stop",
            prompt_tokens=prompt_tokens,
            completion_tokens=pieces,
        )

    def _processors(self) -> Any:
        mark = self.watermark
        if mark is None:
            return None
        from llama_cpp import LogitsProcessorList

        def bias(input_ids: Any, scores: Any) -> Any:
            return mark.bias(scores, int(input_ids[-1])) if len(input_ids) else scores

        return LogitsProcessorList([bias])

    def close(self) -> None:
        llama, self.llama = self.llama, None
        if llama is not None and hasattr(llama, "close"):
            llama.close()
