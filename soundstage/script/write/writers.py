"""Which writer a backend gets, decided in one place for `produce` and the writers' room.

- `GuidedWriter` (guided.py) for instruct models whose prompt format we know (the default
  local SmolLM2; `openai:…?template=chatml`): field-by-field, constrained, reranked;
- `FewShotWriter` (fewshot.py) for other instruction-following backends (chat servers,
  llama.cpp files): Dramatron-style few-shot prompts, parsed strictly;
- None for drama-lm (`embedded`), which only continues play dialogue: the structured
  planner and `DialogueWriter` write for it.
"""

from __future__ import annotations

from soundstage.backends.base import TextBackend
from soundstage.script.write.fewshot import Call, FewShotWriter, uses_instructions
from soundstage.script.write.guided import GuidedWriter, uses_guided

Writer = GuidedWriter | FewShotWriter


def choose_writer(backend: TextBackend, on_call: Call | None = None) -> Writer | None:
    if uses_guided(backend):
        return GuidedWriter(backend, on_call=on_call)
    if uses_instructions(backend):
        return FewShotWriter(backend, on_call=on_call)
    return None
