"""Job kinds that ship with soundstage.

`generate` streams a completion from a text backend. `count` needs no model: it writes
`n` deterministic lines at a chosen speed, which makes it the test bed for crashes and
cancellation (and a quick way to check that a worker is alive).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from pathlib import Path
from typing import Any

from soundstage.backends import Sampling, load_backend, parse_spec
from soundstage.errors import JobError
from soundstage.jobs.handlers import JobContext, handler
from soundstage.jobs.outputs import atomic_write_json, atomic_write_text, atomic_writer


def _int(params: dict[str, Any], key: str, default: int | None, lo: int, hi: int) -> int | None:
    value = params.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise JobError(f"param {key!r} must be a whole number, got {value!r}")
    try:
        number = int(value)
    except (ValueError, OverflowError):
        raise JobError(f"param {key!r} must be a whole number, got {value!r}") from None
    if number != float(value):
        raise JobError(f"param {key!r} must be a whole number, got {value!r}")
    if not lo <= number <= hi:
        raise JobError(f"param {key!r} must be between {lo} and {hi}, got {value!r}")
    return number


def _float(params: dict[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    value = params.get(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise JobError(f"param {key!r} must be a number, got {value!r}") from None
    if not lo <= number <= hi:
        raise JobError(f"param {key!r} must be between {lo:g} and {hi:g}, got {value!r}")
    return number


def no_extra_params(params: dict[str, Any], allowed: set[str], kind: str) -> None:
    extra = sorted(set(params) - allowed)
    if extra:
        raise JobError(
            f"unknown param {extra[0]!r} for job kind {kind!r}",
            hint=f"{kind} takes: {', '.join(sorted(allowed))}",
        )


def flag_param(params: dict[str, Any], key: str, default: bool) -> bool:
    value = params.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise JobError(f"param {key!r} must be true or false, got {value!r}")


# --- count ------------------------------------------------------------------------------


def count_line(seed: str, index: int) -> str:
    digest = hashlib.sha256(f"{seed}:{index}".encode()).hexdigest()[:16]
    return f"{index:06d} {digest}\n"


def check_count(params: dict[str, Any]) -> dict[str, Any]:
    no_extra_params(params, {"n", "delay", "seed"}, "count")
    return {
        "n": _int(params, "n", 100, 1, 1_000_000),
        "delay": _float(params, "delay", 0.0, 0.0, 60.0),
        "seed": str(params.get("seed", "0")),
    }


@handler("count", check=check_count)
def count(ctx: JobContext) -> Path:
    """Write n numbered, hashed lines to count.txt, sleeping `delay` seconds per line."""
    n, delay, seed = ctx.params["n"], ctx.params["delay"], ctx.params["seed"]
    path = ctx.output_dir / "count.txt"
    with atomic_writer(path) as out:
        for index in range(n):
            out.write(count_line(seed, index))
            if delay:
                time.sleep(delay)
            ctx.report((index + 1) / n, f"line {index + 1}/{n}")
    return path


# --- generate ---------------------------------------------------------------------------

GENERATE_PARAMS = {"prompt", "model", "max_tokens", "temperature", "top_p", "top_k", "seed"}


def check_generate(params: dict[str, Any]) -> dict[str, Any]:
    no_extra_params(params, GENERATE_PARAMS, "generate")
    prompt = params.get("prompt")
    if prompt is None or str(prompt) == "":
        raise JobError("generate needs a prompt", hint="--param prompt='INT. KITCHEN - NIGHT'")
    model = params.get("model")
    if model is not None:
        model = str(model)
        parse_spec(model)
    seed = _int(params, "seed", None, 0, 2**63 - 1)
    sampling = Sampling(
        max_tokens=_int(params, "max_tokens", 256, 1, 32768) or 256,
        temperature=_float(params, "temperature", 0.8, 0.0, 5.0),
        top_p=_float(params, "top_p", 1.0, 0.0, 1.0),
        top_k=_int(params, "top_k", None, 1, 2**31),
        # Fixing the seed now means a re-run after a crash writes the same text.
        seed=secrets.randbelow(2**31) if seed is None else seed,
    )
    return {
        "prompt": str(prompt),
        "model": model,
        "max_tokens": sampling.max_tokens,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "top_k": sampling.top_k,
        "seed": sampling.seed,
    }


@handler("generate", check=check_generate)
def generate(ctx: JobContext) -> Path:
    """Complete a prompt with a text backend; writes completion.txt and usage.json."""
    p = ctx.params
    spec = p.get("model") or ctx.settings.model
    max_tokens = int(p["max_tokens"])
    parts: list[str] = []
    tokens = 0
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    with load_backend(spec, ctx.settings) as backend:
        stream = backend.stream(
            p["prompt"],
            max_tokens=max_tokens,
            temperature=p["temperature"],
            top_p=p["top_p"],
            top_k=p["top_k"],
            seed=p["seed"],
        )
        for chunk in stream:
            parts.append(chunk.text)
            tokens = chunk.completion_tokens if chunk.completion_tokens is not None else tokens + 1
            if chunk.finish_reason is not None:
                finish_reason = chunk.finish_reason
                prompt_tokens = chunk.prompt_tokens
            ctx.report(min(tokens / max_tokens, 1.0), f"{tokens}/{max_tokens} tokens")
        model = backend.model
    usage = {
        "model": model,
        "spec": spec,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": tokens,
        "finish_reason": finish_reason,
        "seed": p["seed"],
    }
    atomic_write_json(ctx.output_dir / "usage.json", usage)
    return atomic_write_text(ctx.output_dir / "completion.txt", "".join(parts))
