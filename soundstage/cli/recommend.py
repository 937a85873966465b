"""Commands: `soundstage recommend import | split | eval` (first slice of the recommender)."""

from __future__ import annotations

import csv
import functools
import io
import json
import time
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from soundstage.cli._app import app, console
from soundstage.errors import SoundstageError

recommend_app = typer.Typer(
    help="Personalised recommendations from user behaviour.", no_args_is_help=True
)
app.add_typer(recommend_app, name="recommend")


def _need_scipy() -> None:
    import importlib.util

    if importlib.util.find_spec("scipy") is None:
        raise SoundstageError(
            "recommendations need scipy", hint="pip install 'soundstage[recommend]'"
        )


@recommend_app.command("import")
def recommend_import(
    source: Path = typer.Argument(
        ..., help="A MovieLens release folder (100K, 1M, latest, 20M, 25M)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for log.csv, items.csv, users.csv."),
) -> None:
    """Convert a MovieLens folder into the plain CSV files `split` and `eval` read."""
    _need_scipy()
    from soundstage.export import Exporter
    from soundstage.recommend.data import read_movielens

    log, items, users = read_movielens(source)
    exporter = Exporter(out)
    exporter.write_with("log.csv", functools.partial(_write_to, log))
    exporter.write_text("items.csv", _items_csv(items))
    if users:
        exporter.write_text("users.csv", _users_csv(users))
    console.print(
        f"{len(log):,} events, {log.n_users:,} users, {len(items):,} items written to {out}/"
    )


def _items_csv(items: list[Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["item_id", "title", "kind", "genres", "year"])
    for item in items:
        year = "" if item.year is None else item.year
        writer.writerow([item.id, item.title, item.kind, "|".join(item.genres), year])
    return buffer.getvalue()


def _users_csv(users: dict[str, dict[str, str]]) -> str:
    fields = sorted({key for attrs in users.values() for key in attrs})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["user_id", *fields])
    for user_id, attrs in users.items():
        writer.writerow([user_id, *(attrs.get(f, "") for f in fields)])
    return buffer.getvalue()


@recommend_app.command("split")
def recommend_split(
    interactions: Path = typer.Argument(..., help="CSV: user_id,item_id[,value][,timestamp]."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for train.csv and test.csv."),
    protocol: str = typer.Option("holdout", "--protocol", help="holdout or loo (leave last out)."),
    fraction: float = typer.Option(0.2, "--fraction", help="Test share per user (holdout)."),
    seed: int = typer.Option(0, "--seed"),
    min_value: float | None = typer.Option(
        None, "--min-value", help="Implicit rule: keep events with value ≥ this (e.g. 4)."
    ),
) -> None:
    """Split an interaction log per user into train.csv and test.csv."""
    _need_scipy()
    from soundstage.export import Exporter
    from soundstage.recommend.data import read_csv, to_implicit
    from soundstage.recommend.split import holdout, leave_last_out

    if protocol not in ("holdout", "loo"):
        raise SoundstageError(f"unknown --protocol {protocol!r}", hint="use holdout or loo")
    if not 0 < fraction < 1:
        raise SoundstageError(f"--fraction {fraction:g} must be between 0 and 1")
    log = read_csv(interactions)
    if min_value is not None:
        log = to_implicit(log, min_value=min_value)
    train, test = (
        holdout(log, fraction=fraction, seed=seed) if protocol == "holdout" else leave_last_out(log)
    )
    exporter = Exporter(out)
    exporter.write_with("train.csv", functools.partial(_write_to, train))
    exporter.write_with("test.csv", functools.partial(_write_to, test))
    console.print(f"{len(train):,} train and {len(test):,} test events written to {out}/")


def _write_to(part: Any, tmp: Path) -> None:
    from soundstage.recommend.data import write_csv

    write_csv(tmp, part)


def _evaluate_one(name: str, train: Any, test: Any, k: int) -> dict[str, Any]:
    from soundstage.recommend.metrics import evaluate
    from soundstage.recommend.models import make

    model = make(name)
    began = time.perf_counter()
    model.fit(train)
    fit_s = time.perf_counter() - began
    metrics = evaluate(model, train, test, k=k)
    return {"model": name, "k": k, **metrics, "fit_s": round(fit_s, 3)}


@recommend_app.command("eval")
def recommend_eval(
    train: Path = typer.Option(..., "--train", help="CSV: user_id,item_id[,value][,timestamp]."),
    test: Path = typer.Option(..., "--test", help="Held-out events, same columns."),
    model: str = typer.Option("ease", "--model", help="popular, itemknn, rp3beta, ease, or all."),
    k: int = typer.Option(10, "--k", help="Cut-off of the ranked lists."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (or a list)."),
) -> None:
    """Fit on --train, rank every item for each test user, print accuracy and beyond-accuracy."""
    _need_scipy()
    from soundstage.recommend.data import read_csv
    from soundstage.recommend.models import MODELS

    if not 1 <= k <= 1000:
        raise SoundstageError(f"--k {k} is outside 1..1000")
    names = list(MODELS) if model == "all" else [model]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise SoundstageError(
            f"unknown --model {unknown[0]!r}", hint="use one of: " + ", ".join([*MODELS, "all"])
        )
    train_log = read_csv(train)
    aligned = read_csv(test).with_index(train_log.user_ids, train_log.item_ids)
    test_log, dropped = aligned.inter, aligned.dropped_events
    if len(test_log) == 0:
        raise SoundstageError(
            f"{test}: no test event has a user and an item seen in {train}",
            hint="split one log with `soundstage recommend split` so the ids match",
        )
    X, T = train_log.matrix(), test_log.matrix()
    rows = []
    for name in names:
        row = _evaluate_one(name, X, T, k)
        row["test_events_dropped"] = dropped
        rows.append(row)
    if as_json:
        typer.echo(json.dumps(rows[0] if len(rows) == 1 else rows, indent=1))
        return
    keys = [key for key in rows[0] if key not in ("model", "k", "test_events_dropped")]
    table = Table("metric", *(row["model"] for row in rows))  # models as columns: fits 80 wide
    for key in keys:
        table.add_row(key, *(_fmt(row[key]) for row in rows))
    console.print(table)
    if dropped:
        console.print(f"note: {dropped} test events had a user or item unseen in training")


def _fmt(value: Any) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.4f}"
    return str(int(value)) if isinstance(value, float) else str(value)
