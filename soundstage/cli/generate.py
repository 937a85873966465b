"""Command: generate — complete a prompt with any backend and print the completion."""

from __future__ import annotations

import json
import sys
import time

import typer

from soundstage.backends import Sampling, load_backend
from soundstage.cli._app import app, console_err, state
from soundstage.errors import SoundstageError


@app.command()
def generate(
    prompt: str = typer.Argument(..., help="The prompt; '-' reads it from standard input."),
    model: str | None = typer.Option(
        None, "--model", "-m", help="Backend spec (default: settings)."
    ),
    max_tokens: int = typer.Option(200, "--max-tokens", "-n", help="Most tokens to generate."),
    temperature: float = typer.Option(0.9, "--temperature", "-t", help="0 = greedy."),
    top_p: float = typer.Option(0.9, "--top-p", help="Nucleus sampling mass."),
    top_k: int | None = typer.Option(None, "--top-k", help="Sample from the k likeliest tokens."),
    seed: int | None = typer.Option(None, "--seed", "-s", help="Same seed, same text."),
    stop: list[str] = typer.Option([], "--stop", help="Stop at this string (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object with usage."),
    echo: bool = typer.Option(False, "--echo", help="Print the prompt before the completion."),
) -> None:
    """Print the completion of PROMPT, streamed as it is generated."""
    if prompt == "-":
        prompt = sys.stdin.read()
    if not prompt:
        raise SoundstageError("the prompt is empty", hint="pass text or '-' to read stdin")
    sampling = Sampling(max_tokens, temperature, top_p, top_k, tuple(stop), seed)
    settings = state.settings()
    spec = model or settings.model
    with load_backend(spec, settings) as backend:
        started = time.perf_counter()
        if as_json:
            done = backend.complete_sampling(prompt, sampling)
            elapsed = time.perf_counter() - started
            out = {**done.__dict__, "seconds": round(elapsed, 3), "spec": spec}
            print(json.dumps(out, ensure_ascii=False))
            return
        if echo:
            sys.stdout.write(prompt)
        tokens = 0
        for chunk in backend.stream(
            prompt,
            max_tokens=sampling.max_tokens,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            top_k=sampling.top_k,
            stop=sampling.stop,
            seed=sampling.seed,
        ):
            sys.stdout.write(chunk.text)
            sys.stdout.flush()
            tokens = chunk.completion_tokens or tokens
        sys.stdout.write("\n")
        elapsed = time.perf_counter() - started
        if sys.stderr.isatty():
            console_err.print(
                f"[dim]{tokens} tokens in {elapsed:.2f}s ({tokens / elapsed:.0f}/s) · {spec}[/]"
            )
