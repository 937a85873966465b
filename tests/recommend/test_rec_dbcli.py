"""Recommender data in the database from the CLI and from jobs.

`recommend import --db` → `recommend train db:NAME` → `recommend recommend`, run as a user
runs them, plus the `recommend-train` job on a real SQLite store.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_soundstage
from sqlalchemy import Engine

from soundstage import jobs
from soundstage.errors import JobError
from soundstage.jobs.handlers import check_params
from soundstage.recommend import store
from soundstage.recommend.data import Item
from soundstage.recommend.loading import load_source
from soundstage.recommend.registry import Registry
from soundstage.recommend.sources import read_log
from soundstage.settings import load_settings
from soundstage.store import open_store
from soundstage.store.testing import reset_database


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_soundstage("recommend", *args, columns=200)


def _one_line_error(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode != 0
    assert needle in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error:"), result.stderr


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two taste communities over two item blocks, plus a catalogue with titles."""
    rng = np.random.default_rng(0)
    rows = ["user_id,item_id,value,timestamp"]
    for u in range(60):
        block = range(0, 20) if u % 2 == 0 else range(20, 40)
        for t, i in enumerate(rng.choice(list(block), size=8, replace=False).tolist()):
            rows.append(f"u{u},i{i},{rng.integers(3, 6)},{1000 + t}")
    folder = tmp_path_factory.mktemp("rec")
    (folder / "items.csv").write_text(
        "item_id,title,kind,genres\n"
        + "".join(f"i{i},Title {i},movie,{'drama' if i < 20 else 'comedy'}\n" for i in range(42))
    )
    path = folder / "log.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite store in a temp file, named through the environment so subprocesses see it."""
    url = f"sqlite:///{tmp_path / 'db' / 'rec.db'}"
    monkeypatch.setenv("SOUNDSTAGE_DATABASE_URL", url)
    return url


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    engine = open_store(load_settings())
    yield engine
    engine.dispose()


# --- CLI --------------------------------------------------------------------------------------


def test_import_db_train_from_dataset_and_recommend(log: Path, sqlite_url: str) -> None:
    items = str(log.parent / "items.csv")
    imported = run("import", str(log), "--db", "--dataset", "shows", "--items", items)
    assert imported.returncode == 0, imported.stderr
    assert "480 rating events appended" in imported.stdout
    assert "42 catalogue items" in imported.stdout

    trained = run("train", "db:shows", "--version", "v1")
    assert trained.returncode == 0, trained.stderr
    assert "480 events" in trained.stdout and "v1" in trained.stdout
    card = Registry(load_settings().data_dir / "recommend").card("v1")
    assert card["source"] == "db:shows" and card["items"] == 42  # untouched catalogue items too

    answer = run("recommend", "u0", "--json")
    assert answer.returncode == 0, answer.stderr
    picks = json.loads(answer.stdout)["items"]
    assert picks and all(p["title"].startswith("Title ") for p in picks)
    # u0 is in the first community: its top picks come from the first item block.
    assert int(picks[0]["item_id"][1:]) < 20


def test_import_appends_and_replace_swaps(log: Path, engine: Engine) -> None:
    for extra in ([], [], ["--replace"]):
        result = run("import", str(log), "--db", "--dataset", "plays", "--event", "play", *extra)
        assert result.returncode == 0, result.stderr
    assert "480 play events replaced" in result.stdout
    assert store.datasets(engine) == {"plays": 480}
    run("import", str(log), "--db", "--dataset", "plays", "--event", "play")
    assert store.datasets(engine) == {"plays": 960}


def test_import_db_and_out_together(log: Path, sqlite_url: str, tmp_path: Path) -> None:
    result = run("import", str(log), "--db", "--out", str(tmp_path / "csv"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "csv" / "log.csv").is_file()
    assert "dataset 'default'" in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ([], "needs --out FOLDER or --db"),
        (["--dataset", "x"], "--dataset only applies with --db"),
        (["--db", "--event", "view"], "unknown --event 'view'"),
        (["--db", "--dataset", "x" * 65], "must be 1 to 64 characters"),
    ],
)
def test_import_bad_flags_are_one_line(
    log: Path, sqlite_url: str, args: list[str], needle: str
) -> None:
    _one_line_error(run("import", str(log), *args), needle)


def test_train_from_unknown_or_empty_dataset_is_one_line(log: Path, sqlite_url: str) -> None:
    assert run("import", str(log), "--db", "--dataset", "shows").returncode == 0
    unknown = run("train", "db:nope")
    _one_line_error(unknown, "unknown dataset 'nope'")
    assert "shows" in unknown.stderr  # the hint lists what is stored
    _one_line_error(run("train", "db:"), "dataset name must be 1 to 64")


def test_dataset_with_only_a_catalogue_says_so(engine: Engine) -> None:
    store.save_catalog(engine, [Item(id="a", title="A")], dataset="empty")
    with pytest.raises(store.RecStoreError, match="'empty' has no interactions"):
        load_source("db:empty", settings=load_settings())


@pytest.mark.postgres
def test_import_into_postgres_and_load_back(
    log: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reset_database(postgres_url)
    monkeypatch.setenv("SOUNDSTAGE_DATABASE_URL", postgres_url)
    items = str(log.parent / "items.csv")
    result = run("import", str(log), "--db", "--dataset", "pg", "--items", items)
    assert result.returncode == 0, result.stderr
    loaded, catalog, _users = load_source("db:pg", settings=load_settings())
    expected, expected_catalog, _ = read_log(log, items=items)
    assert loaded.user_ids == expected.user_ids and loaded.item_ids == expected.item_ids
    assert np.array_equal(loaded.values, expected.values)
    assert sorted(catalog, key=lambda it: it.id) == sorted(expected_catalog, key=lambda it: it.id)


# --- the recommend-train job ------------------------------------------------------------------


def test_job_trains_from_dataset_and_publishes(log: Path, engine: Engine) -> None:
    inter, catalog, _users = read_log(log, items=log.parent / "items.csv")
    store.append_interactions(engine, inter, dataset="shows")
    store.save_catalog(engine, catalog, dataset="shows")
    settings = load_settings()
    seen: list[tuple[float, str]] = []

    job = jobs.run_now(
        engine,
        settings,
        "recommend-train",
        {"source": "db:shows", "model": "itemknn", "min_value": 4, "version": "nightly"},
        on_progress=lambda p, m: seen.append((p, m)),
    )

    assert job.status == "succeeded", job.error
    assert seen and [p for p, _ in seen] == sorted(p for p, _ in seen)
    assert seen[0][1] == "loading" and any(m.startswith("fitting itemknn") for _, m in seen)
    result = json.loads((settings.data_dir / str(job.result)).read_text())
    assert result["version"] == "nightly" and result["model"] == "itemknn"
    assert result["events"] == int((inter.values >= 4).sum()) and result["items"] == 42
    registry = Registry(settings.data_dir / "recommend")
    assert registry.active() == "nightly"
    assert registry.card("nightly")["source"] == "db:shows"


def test_job_trains_from_file_without_activating(log: Path, engine: Engine) -> None:
    settings = load_settings()
    job = jobs.run_now(engine, settings, "recommend-train", {"source": str(log), "activate": False})
    assert job.status == "succeeded", job.error
    assert job.progress == 1.0
    result = json.loads((settings.data_dir / str(job.result)).read_text())
    registry = Registry(settings.data_dir / "recommend")
    assert result["model"] == "ease" and result["version"] in registry.versions()
    assert registry.active() is None


def test_job_on_unknown_dataset_fails_with_the_name(engine: Engine) -> None:
    job = jobs.run_now(engine, load_settings(), "recommend-train", {"source": "db:nope"})
    assert job.status == "failed" and "unknown dataset 'nope'" in str(job.error)


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({}, "needs a source"),
        ({"source": "db:"}, "dataset name must be 1 to 64"),
        ({"source": "missing.csv"}, "does not exist"),
        ({"source": "db:x", "model": "svd++"}, "unknown model 'svd++'"),
        ({"source": "db:x", "min_value": "high"}, "'min_value' must be a number"),
        ({"source": "db:x", "tune": "maybe"}, "'tune' must be true or false"),
        ({"source": "db:x", "version": "../up"}, "not a version name"),
        ({"source": "db:x", "epochs": 3}, "unknown param 'epochs'"),
    ],
)
def test_bad_params_are_rejected_at_enqueue(
    engine: Engine, params: dict[str, object], needle: str
) -> None:
    with pytest.raises(JobError) as caught:
        jobs.enqueue(engine, "recommend-train", params)
    assert needle in str(caught.value) and "\n" not in str(caught.value)
    assert jobs.list_jobs(engine) == []


def test_check_makes_paths_absolute_and_fills_defaults(
    log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(log.parent)
    clean = check_params("recommend-train", {"source": "log.csv", "tune": "true"})
    assert clean == {
        "source": str(log.resolve()),
        "model": "ease",
        "items": None,
        "min_value": None,
        "tune": True,
        "version": None,
        "activate": True,
    }
