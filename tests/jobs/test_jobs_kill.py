"""A worker killed with SIGKILL mid-job: the job is re-run by the next worker, and the
output is exactly what an uninterrupted run writes. Real subprocesses, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from soundstage import jobs
from soundstage.jobs.builtins import count_line
from soundstage.settings import Settings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL"),
]

PARAMS = {"n": 40, "delay": 0.04, "seed": "kill-test"}
Eventually = Callable[..., None]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start `python -m soundstage worker` with this test's SOUNDSTAGE_* environment."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"worker-{len(started)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "soundstage", "worker", *args],
            env=dict(os.environ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def worker_logs(tmp_path: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(tmp_path.glob("worker-*.log")))


def test_sigkill_mid_job_requeues_and_finishes_once(
    engine: Engine,
    store_settings: Settings,
    spawn: Callable[..., subprocess.Popen[bytes]],
    eventually: Eventually,
    tmp_path: Path,
) -> None:
    job = jobs.enqueue(engine, "count", PARAMS)
    first = spawn()

    def halfway() -> bool:
        assert first.poll() is None, f"worker exited early:\n{worker_logs(tmp_path)}"
        now = jobs.get(engine, job.id)
        return now.status == "running" and now.progress >= 0.2

    eventually(halfway, timeout=30, what="the first worker to report progress")
    os.kill(first.pid, signal.SIGKILL)
    assert first.wait(timeout=10) == -signal.SIGKILL
    killed = jobs.get(engine, job.id)
    assert (killed.status, killed.attempts) == ("running", 1)
    assert killed.progress < 1.0, "killed before the end"
    folder = store_settings.outputs_dir / job.id
    assert not (folder / "count.txt").exists(), "a killed attempt publishes nothing"

    second = spawn()
    done = jobs.wait(engine, job.id, timeout=30)
    assert (done.status, done.attempts) == ("succeeded", 2), worker_logs(tmp_path)

    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=15) == 0, worker_logs(tmp_path)

    # `delay` only sets the pace; an uninterrupted run without it writes the same file.
    reference = jobs.run_now(engine, store_settings, "count", {**PARAMS, "delay": 0})
    expected = (store_settings.data_dir / (reference.result or "")).read_bytes()
    output = (store_settings.data_dir / (done.result or "")).read_bytes()
    assert output == expected
    assert output.decode() == "".join(count_line("kill-test", i) for i in range(40))
    assert [p.name for p in folder.iterdir()] == ["count.txt"], "no temp or duplicate files"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the CLI tests cover both
def test_worker_once_exits_when_the_queue_is_empty(
    engine: Engine, spawn: Callable[..., subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    job = jobs.enqueue(engine, "count", {"n": 3})
    assert spawn("--once").wait(timeout=30) == 0, worker_logs(tmp_path)
    assert jobs.get(engine, job.id).status == "succeeded"
    assert f"job {job.id}" in worker_logs(tmp_path)
