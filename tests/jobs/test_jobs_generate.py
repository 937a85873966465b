"""The built-in `generate` job: params, streaming progress, files, and the real embedded model."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from soundstage import jobs
from soundstage.backends import Chunk, Sampling, TextBackend, load_backend
from soundstage.errors import BackendError, BackendSpecError, JobError, SamplingError
from soundstage.jobs import builtins
from soundstage.settings import Settings


@dataclass
class WordBackend(TextBackend):
    """Deterministic stand-in: emits `max_tokens` words derived from the prompt and seed."""

    delay: float = 0.0

    def _stream(self, prompt: str, sampling: Sampling) -> Iterator[Chunk]:
        for i in range(sampling.max_tokens):
            time.sleep(self.delay)
            last = i == sampling.max_tokens - 1
            yield Chunk(
                f"{prompt[:3]}{(sampling.seed or 0) + i} ",
                finish_reason="length" if last else None,
                prompt_tokens=len(prompt) if last else None,
                completion_tokens=i + 1 if last else None,
            )


@pytest.fixture
def fake_backend(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    specs: list[str] = []

    def load(spec: str, settings: Settings | None = None) -> TextBackend:
        specs.append(spec)
        return WordBackend(model="words", spec=spec, delay=0.01 if "slow" in specs else 0.0)

    monkeypatch.setattr(builtins, "load_backend", load)
    return specs


def test_generate_writes_completion_and_usage(
    engine: Engine, store_settings: Settings, fake_backend: list[str]
) -> None:
    seen: list[tuple[float, str]] = []
    params = {"prompt": "INT. KITCHEN", "max_tokens": 4, "seed": 10}
    job = jobs.run_now(
        engine, store_settings, "generate", params, on_progress=lambda p, m: seen.append((p, m))
    )
    assert job.status == "succeeded", job.error
    assert job.result == f"outputs/{job.id}/completion.txt"
    folder = store_settings.outputs_dir / job.id
    assert (folder / "completion.txt").read_text() == "INT10 INT11 INT12 INT13 "
    usage = json.loads((folder / "usage.json").read_text())
    assert usage == {
        "model": "words",
        "spec": "embedded",
        "prompt_tokens": 12,
        "completion_tokens": 4,
        "finish_reason": "length",
        "seed": 10,
    }
    assert seen == [(i / 4, f"{i}/4 tokens") for i in range(1, 5)]
    assert fake_backend == ["embedded"], "the settings' default model is used"
    assert sorted(p.name for p in folder.iterdir()) == ["completion.txt", "usage.json"]


def test_generate_fixes_a_seed_at_submit(engine: Engine, fake_backend: list[str]) -> None:
    job = jobs.enqueue(engine, "generate", {"prompt": "hello", "model": "openai:m@http://h/v1"})
    assert isinstance(job.params["seed"], int)
    assert job.params["model"] == "openai:m@http://h/v1"
    assert job.params["max_tokens"] == 256 and job.params["top_k"] is None


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"prompt": "x", "model": "gpt4"}, BackendSpecError, "unknown backend spec 'gpt4'"),
        ({"prompt": "x", "top_p": 0}, SamplingError, "top_p must be in"),
        ({"prompt": "x", "max_tokens": 0}, JobError, "'max_tokens' must be between"),
        ({"prompt": "x", "stop": ["\n"]}, JobError, "unknown param 'stop'"),
        ({"prompt": ""}, JobError, "needs a prompt"),
    ],
)
def test_generate_params_are_checked_at_submit(
    engine: Engine, params: dict, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        jobs.enqueue(engine, "generate", params)


def test_generate_can_be_cancelled_mid_stream(
    engine: Engine, store_settings: Settings, fake_backend: list[str]
) -> None:
    fake_backend.append("slow")  # 10 ms a token: cancel is seen at a throttled write
    job = jobs.enqueue(engine, "generate", {"prompt": "x", "max_tokens": 50})

    def cancel_after_some(progress: float, message: str) -> None:
        if progress >= 0.1:
            jobs.cancel(engine, job.id)

    worker = jobs.Worker(engine, store_settings)
    claim = jobs.claim_next(engine, worker.worker_id, lease_seconds=10)
    assert claim is not None
    assert worker.run_claim(claim, cancel_after_some) == "cancelled"
    done = jobs.get(engine, job.id)
    assert done.status == "cancelled" and done.progress < 1.0
    assert not (store_settings.outputs_dir / job.id / "completion.txt").exists()


def test_generate_backend_error_fails_the_job(engine: Engine, store_settings: Settings) -> None:
    job = jobs.run_now(
        engine, store_settings, "generate", {"prompt": "x", "model": "llamacpp:/no/such.gguf"}
    )
    assert job.status == "failed"
    assert job.error and "Traceback" not in job.error


def test_generate_with_the_embedded_model(engine: Engine, store_settings: Settings) -> None:
    try:
        load_backend("embedded", store_settings).close()
    except (BackendError, ImportError) as exc:
        pytest.skip(f"embedded model not available yet: {exc}")
    params = {"prompt": "HAMLET:\n", "max_tokens": 12, "seed": 7, "temperature": 0.8}
    first = jobs.run_now(engine, store_settings, "generate", params)
    second = jobs.run_now(engine, store_settings, "generate", params)
    assert (first.status, second.status) == ("succeeded", "succeeded"), first.error
    text = (store_settings.data_dir / (first.result or "")).read_text()
    assert text, "the model wrote something"
    assert text == (store_settings.data_dir / (second.result or "")).read_text(), "seeded"
    usage = json.loads((store_settings.outputs_dir / first.id / "usage.json").read_text())
    assert 1 <= usage["completion_tokens"] <= 12
    assert usage["finish_reason"] in ("stop", "length")
