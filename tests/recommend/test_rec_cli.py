"""`soundstage recommend split | eval` as a user runs them, on a synthetic log."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_soundstage


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_soundstage("recommend", *args, columns=200)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two taste communities over two disjoint item blocks, plus globally popular items."""
    rng = np.random.default_rng(0)
    rows = ["user_id,item_id,value,timestamp"]
    for u in range(120):
        block = range(0, 40) if u % 2 == 0 else range(40, 80)
        items = rng.choice(list(block), size=12, replace=False).tolist() + [80, 81]
        for t, i in enumerate(items):
            rows.append(f"u{u},i{i},{rng.integers(3, 6)},{1000 + t}")
    path = tmp_path_factory.mktemp("rec") / "log.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def split(log: Path) -> Path:
    out = log.parent / "split"
    result = run("split", str(log), "--out", str(out), "--seed", "1")
    assert result.returncode == 0, result.stderr
    return out


def test_split_writes_disjoint_train_and_test(split: Path) -> None:
    train = {tuple(r.split(",")[:2]) for r in (split / "train.csv").read_text().splitlines()[1:]}
    test = {tuple(r.split(",")[:2]) for r in (split / "test.csv").read_text().splitlines()[1:]}
    assert len(train) + len(test) == 120 * 14
    assert not train & test
    assert {u for u, _ in test} == {f"u{u}" for u in range(120)}


def test_eval_json_and_ease_beats_popularity(split: Path) -> None:
    args = ["eval", "--train", str(split / "train.csv"), "--test", str(split / "test.csv")]
    ease = json.loads(run(*args, "--model", "ease", "--json").stdout)
    pop = json.loads(run(*args, "--model", "popular", "--json").stdout)
    assert ease["model"] == "ease" and ease["k"] == 10
    assert 0 <= pop["ndcg@10"] < ease["ndcg@10"] <= 1
    assert ease["users"] == 120 and ease["test_events_dropped"] == 0
    every = json.loads(run(*args, "--model", "all", "--json").stdout)
    assert [r["model"] for r in every] == ["popular", "itemknn", "rp3beta", "ease", "als", "bpr"]


def test_eval_reports_metrics_per_user_group(split: Path, tmp_path: Path) -> None:
    users = tmp_path / "users.csv"
    users.write_text(
        "user_id,gender,age\n"
        + "".join(f"u{u},{'F' if u % 2 else 'M'},{20 + u % 40}\n" for u in range(120))
    )
    args = ["eval", "--train", str(split / "train.csv"), "--test", str(split / "test.csv")]
    body = json.loads(
        run(
            *args, "--model", "ease", "--users", str(users), "--group-by", "gender", "--json"
        ).stdout
    )
    groups = body["groups"]
    assert {g: v["users"] for g, v in groups["by_group"].items()} == {"F": 60, "M": 60}
    ndcg = [v["ndcg@10"] for v in groups["by_group"].values()]
    assert groups["difference"]["ndcg@10"] == pytest.approx(max(ndcg) - min(ndcg))
    assert groups["overall"]["ndcg@10"] == pytest.approx(body["ndcg@10"])
    ages = json.loads(
        run(
            *args, "--model", "popular", "--users", str(users), "--group-by", "age", "--json"
        ).stdout
    )
    assert set(ages["groups"]["by_group"]) == {"<25", "25-34", "35-44", "45+"}
    bad = run(*args, "--users", str(users), "--group-by", "occupation")
    assert bad.returncode != 0 and "no column 'occupation'" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    ("make", "extra", "needle"),
    [
        (lambda d: "user_id,item_id,value\nu1,i1,5\nu2,i2,high\n", [], "train.csv:3"),
        (lambda d: "user_id,item_id\n", [], "no interactions"),
        (lambda d: "user_id,item_id\nu1,i1\nu1,i2\n", ["--model", "svd++"], "unknown --model"),
        (lambda d: "user_id,item_id\nu1,i1\nu1,i2\n", ["--k", "0"], "--k 0"),
    ],
)
def test_eval_bad_input_is_one_line(tmp_path: Path, make, extra: list[str], needle: str) -> None:  # type: ignore[no-untyped-def]
    train = tmp_path / "train.csv"
    train.write_text(make(tmp_path))
    test = tmp_path / "test.csv"
    test.write_text("user_id,item_id\nu1,i3\n")
    result = run("eval", "--train", str(train), "--test", str(test), *extra)
    assert result.returncode != 0
    assert needle in result.stderr and "Traceback" not in result.stderr


def test_test_users_absent_from_training_are_dropped_and_counted(
    tmp_path: Path, split: Path
) -> None:
    test = tmp_path / "test.csv"
    lines = (split / "test.csv").read_text().splitlines()
    test.write_text("\n".join([*lines, "stranger,i1,5,1", "u0,brand-new-item,5,1"]) + "\n")
    result = run("eval", "--train", str(split / "train.csv"), "--test", str(test), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["test_events_dropped"] == 2


def test_import_a_movielens_folder_then_split_and_eval(tmp_path: Path) -> None:
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    rng = np.random.default_rng(3)
    rows = []
    for u in range(1, 31):
        for i in rng.choice(np.arange(1, 21), size=8, replace=False):
            rows.append(f"{u}\t{i}\t{rng.integers(1, 6)}\t{880000000 + len(rows)}")
    (folder / "u.data").write_text("\n".join(rows) + "\n")
    flags = "|".join(["0"] * 18 + ["1"])
    items = [f"{i}|Film, The {i} (199{i % 10})|01-Jan-1995||http://x|{flags}" for i in range(1, 21)]
    (folder / "u.item").write_text("\n".join(items) + "\n", encoding="latin-1")
    users = [f"{u}|{20 + u}|{'MF'[u % 2]}|writer|0000{u}" for u in range(1, 31)]
    (folder / "u.user").write_text("\n".join(users) + "\n")
    out = tmp_path / "log"
    result = run("import", str(folder), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert (out / "log.csv").read_text().count("\n") == 1 + 240
    header, first = (out / "items.csv").read_text().splitlines()[:2]
    assert header == "item_id,title,kind,genres,year"
    assert first == '1,"Film, The 1 (1991)",movie,Western,1991'  # quoted comma survives
    assert (out / "users.csv").read_text().splitlines()[0] == "user_id,age,gender,occupation,zip"
    assert (
        run(
            "split", str(out / "log.csv"), "--out", str(tmp_path / "s"), "--min-value", "3"
        ).returncode
        == 0
    )
    result = run(
        "eval",
        "--train",
        str(tmp_path / "s" / "train.csv"),
        "--test",
        str(tmp_path / "s" / "test.csv"),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert 0 <= json.loads(result.stdout)["ndcg@10"] <= 1


def test_import_refuses_a_folder_that_is_not_movielens(tmp_path: Path) -> None:
    result = run("import", str(tmp_path), "--out", str(tmp_path / "out"))
    assert result.returncode != 0
    assert "not a MovieLens folder" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
