"""The jobs, worker and db commands, through `soundstage.cli.main` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from soundstage import jobs
from soundstage.cli import main
from soundstage.jobs.builtins import count_line
from soundstage.jobs.handlers import HandlerSpec
from soundstage.settings import Settings


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert lines and lines[0].startswith("error: "), err
    assert len(lines) <= 2 and all(ln.startswith(("error: ", "  hint: ")) for ln in lines), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err


def test_submit_show_list_cancel(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "jobs", "submit", "count", "--param", "n=7", "-p", "seed=abc")
    job_id = out.strip()
    assert code == 0 and len(job_id) == 32
    stored = jobs.get(engine, job_id)
    assert stored.params == {"n": 7, "delay": 0.0, "seed": "abc"}

    code, out, _ = cli(capsys, "jobs", "show", job_id[:8])
    assert code == 0
    shown = json.loads(out)
    assert (shown["id"], shown["status"], shown["params"]["n"]) == (job_id, "queued", 7)

    code, out, _ = cli(capsys, "jobs", "list")
    assert code == 0 and job_id[:12] in out and "queued" in out
    code, out, _ = cli(capsys, "jobs", "list", "--status", "succeeded")
    assert code == 0 and out.strip() == "no jobs"

    code, out, _ = cli(capsys, "jobs", "cancel", job_id)
    assert code == 0 and out.strip() == f"cancelled {job_id}"
    assert jobs.get(engine, job_id).status == "cancelled"


def test_worker_once_runs_submitted_jobs(
    engine: Engine, store_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = [jobs.enqueue(engine, "count", {"n": 4}).id for _ in range(2)]
    code, _, _ = cli(capsys, "worker", "--once", "--poll", "0.01")
    assert code == 0
    assert [jobs.get(engine, i).status for i in ids] == ["succeeded", "succeeded"]
    code, out, _ = cli(capsys, "jobs", "wait", ids[0], "--timeout", "1")
    assert code == 0
    assert Path(out.strip()) == store_settings.outputs_dir / ids[0] / "count.txt"


def test_run_in_process(store_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "jobs", "run", "count", "-p", "n=12", "-p", "seed=s")
    assert code == 0, err
    path = Path(out.strip())
    assert path.parent.parent == store_settings.outputs_dir
    assert path.read_text() == "".join(count_line("s", i) for i in range(12))
    assert "succeeded" in err


def test_run_failing_job_exits_non_zero(
    engine: Engine, capsys: pytest.CaptureFixture[str], registry: dict[str, HandlerSpec]
) -> None:
    @jobs.handler("explode")
    def explode(ctx: jobs.JobContext) -> None:
        raise RuntimeError("boom")

    code, out, err = cli(capsys, "jobs", "run", "explode")
    assert code == 2 and out == ""
    assert_one_line_error(err, "failed: RuntimeError: boom")
    assert [j.status for j in jobs.list_jobs(engine)] == ["failed"]


@pytest.mark.parametrize(
    ("args", "code", "needles"),
    [
        (["jobs", "show", "nosuchjob"], 2, ["no job with id 'nosuchjob'", "jobs list"]),
        (["jobs", "cancel", "nosuchjob"], 2, ["no job with id"]),
        (["jobs", "submit", "nokind"], 2, ["unknown job kind 'nokind'", "known kinds"]),
        (["jobs", "submit", "count", "-p", "n=-3"], 2, ["'n' must be between"]),
        (["jobs", "list", "--status", "done"], 2, ["unknown job status 'done'"]),
        (["worker", "--kind", "nokind"], 2, ["unknown job kind"]),
        (["--database-url", "sqlit:///x.db", "jobs", "list"], 3, ["dialect 'sqlit'"]),
        (["--database-url", "postgresql+psycopg://u@127.0.0.1:1/x", "db", "current"], 3,
         ["cannot connect", "is PostgreSQL running"]),
    ],
)  # fmt: skip
def test_errors_are_one_line(
    engine: Engine,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    needles: list[str],
) -> None:
    got, out, err = cli(capsys, *args)
    assert got == code
    assert_one_line_error(err, *needles)


def test_bad_param_syntax_is_an_error(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "jobs", "submit", "count", "--param", "n")
    assert code == 2
    assert_one_line_error(err, "--param expects key=value, got 'n'")
    assert jobs.list_jobs(engine) == []


def test_db_current_and_upgrade(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from soundstage.store.db import head_revision

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    code, out, _ = cli(capsys, "--database-url", url, "db", "current")
    assert code == 0 and "current: empty" in out and "behind" in out
    head = head_revision()
    code, out, _ = cli(capsys, "--database-url", url, "db", "upgrade")
    assert code == 0 and out.strip() == f"database migrated from empty to {head}"
    code, out, _ = cli(capsys, "--database-url", url, "db", "upgrade")
    assert code == 0 and out.strip() == f"database already at revision {head}"
    code, out, _ = cli(capsys, "--database-url", url, "db", "current")
    assert f"current: {head}  head: {head}  (up to date)" in out


def test_subprocess_error_has_no_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "SOUNDSTAGE_DATABASE_URL": "postgress://user:hunter2@db/x"}
    proc = subprocess.run(
        [sys.executable, "-m", "soundstage", "jobs", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3
    assert_one_line_error(proc.stderr, "unknown database dialect 'postgress'", "postgresql")
    assert "hunter2" not in proc.stderr


def test_run_generate_with_the_embedded_model(
    store_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    from soundstage.backends import load_backend
    from soundstage.errors import BackendError

    try:
        load_backend("embedded", store_settings).close()
    except (BackendError, ImportError) as exc:
        pytest.skip(f"embedded model not available yet: {exc}")
    args = ["jobs", "run", "generate", "-p", "prompt=ROMEO:", "-p", "max_tokens=8", "-p", "seed=3"]
    code, out, err = cli(capsys, *args)
    assert code == 0, err
    path = Path(out.strip())
    assert path.name == "completion.txt" and path.read_text()
    assert json.loads((path.parent / "usage.json").read_text())["seed"] == 3
