"""The `moderate-batch` job: same output as the CLI, progress reported, params checked early."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from soundstage import jobs
from soundstage.errors import JobError
from soundstage.moderate.queue import ReviewQueue
from soundstage.settings import load_settings

TEXTS = ["What a lovely film", "you are a stupid worthless idiot, shut up", "I will kill you"]


@pytest.fixture
def comments(tmp_path: Path) -> Path:
    path = tmp_path / "comments.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "body"])
        writer.writerows([(f"c{i}", t) for i, t in enumerate(TEXTS)])
    return path


def test_job_writes_the_csv_reports_progress_and_queues(comments: Path, engine: Engine) -> None:
    settings = load_settings()
    seen: list[float] = []
    params = {"source": str(comments), "text_column": "body", "id_column": "id", "queue": "true"}
    job = jobs.run_now(
        engine, settings, "moderate-batch", params, on_progress=lambda p, _m: seen.append(p)
    )
    assert job.status == "succeeded", job.error
    assert seen == sorted(seen) and job.progress == 1.0
    result = json.loads((settings.data_dir / str(job.result)).read_text())
    assert result["rows"] == 3 and result["counts"]["allow"] == 1 and result["queued"] == 2
    rows = list(csv.DictReader((settings.data_dir / result["output"]).open(encoding="utf-8")))
    assert [r["mod_decision"] for r in rows] == ["allow", "review", "block"]
    queued = ReviewQueue(engine).pending()
    assert sorted(i.content_id for i in queued) == ["c1", "c2"]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"text_column": "body"}, "needs an existing CSV file"),
        ({"source": "COMMENTS", "text_column": ""}, "needs text_column"),
        ({"source": "COMMENTS", "text_column": "body", "policy": "nope"}, "no policy 'nope'"),
        ({"source": "COMMENTS", "text_column": "body", "surface": "radio"}, "no surface"),
        (
            {"source": "COMMENTS", "text_column": "body", "tier": "slow"},
            "fast, cascade or ensemble",
        ),
        ({"source": "COMMENTS", "text_column": "body", "colour": 1}, "unknown param 'colour'"),
    ],
)
def test_bad_params_fail_at_submit(
    comments: Path, engine: Engine, params: dict[str, object], needle: str
) -> None:
    params = {k: (str(comments) if v == "COMMENTS" else v) for k, v in params.items()}
    with pytest.raises(JobError, match=needle):
        jobs.enqueue(engine, "moderate-batch", params)


def test_a_missing_column_fails_the_job_with_the_file(comments: Path, engine: Engine) -> None:
    params = {"source": str(comments), "text_column": "text"}
    job = jobs.run_now(engine, load_settings(), "moderate-batch", params)
    assert job.status == "failed" and "no column 'text'" in str(job.error)
