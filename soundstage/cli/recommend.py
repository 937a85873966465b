"""Commands: `soundstage recommend import | split | eval` (first slice of the recommender)."""

from __future__ import annotations

import functools
import json
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


def need_scipy() -> None:
    import importlib.util

    if importlib.util.find_spec("scipy") is None:
        raise SoundstageError(
            "recommendations need scipy", hint="pip install 'soundstage[recommend]'"
        )


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
    need_scipy()
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
    exporter.write_with("train.csv", functools.partial(write_to, train))
    exporter.write_with("test.csv", functools.partial(write_to, test))
    console.print(f"{len(train):,} train and {len(test):,} test events written to {out}/")


def write_to(part: Any, tmp: Path) -> None:
    from soundstage.recommend.data import write_csv

    write_csv(tmp, part)


@recommend_app.command("eval")
def recommend_eval(
    train: Path = typer.Option(..., "--train", help="CSV: user_id,item_id[,value][,timestamp]."),
    test: Path = typer.Option(..., "--test", help="Held-out events, same columns."),
    model: str = typer.Option(
        "ease",
        "--model",
        help="popular, itemknn, rp3beta, ease, als, bpr, content, hybrid, spark-als, or all.",
    ),
    k: int = typer.Option(10, "--k", help="Cut-off of the ranked lists."),
    items: Path | None = typer.Option(
        None, "--items", help="Catalog (item_id,title,kind,genres,…): content/hybrid and ILD."
    ),
    tune: bool = typer.Option(False, "--tune", help="Tune each model on a validation split."),
    users: Path | None = typer.Option(None, "--users", help="users.csv with attributes."),
    group_by: str | None = typer.Option(
        None, "--group-by", help="Per-group metrics by this users.csv column (age: buckets)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (or a list)."),
) -> None:
    """Fit on --train, rank every item for each test user, print accuracy and beyond-accuracy."""
    need_scipy()
    from soundstage.recommend.data import read_csv
    from soundstage.recommend.models import MODELS, model_names
    from soundstage.recommend.sources import read_items

    if not 1 <= k <= 1000:
        raise SoundstageError(f"--k {k} is outside 1..1000")
    if model == "all":
        names = [*MODELS, *(["content", "hybrid"] if items else [])]
    else:
        names = [model]
    unknown = [n for n in names if n not in model_names()]
    if unknown:
        raise SoundstageError(
            f"unknown --model {unknown[0]!r}",
            hint="use one of: " + ", ".join([*model_names(), "all"]),
        )
    if (group_by is None) != (users is None):
        raise SoundstageError("--users and --group-by go together")
    train_log = read_csv(train)
    aligned = read_csv(test).with_index(train_log.user_ids, train_log.item_ids)
    test_log, dropped = aligned.inter, aligned.dropped_events
    if len(test_log) == 0:
        raise SoundstageError(
            f"{test}: no test event has a user and an item seen in {train}",
            hint="split one log with `soundstage recommend split` so the ids match",
        )
    catalog = read_items(items) if items else []
    groups = user_group_labels(users, group_by, train_log.user_ids) if users and group_by else None
    X, T = train_log.matrix(), test_log.matrix()
    rows = [
        _evaluate_one(name, X, T, k, train_log.item_ids, catalog, tune, groups) for name in names
    ]
    for row in rows:
        row["test_events_dropped"] = dropped
    if as_json:
        typer.echo(json.dumps(rows[0] if len(rows) == 1 else rows, indent=1))
        return
    skip = ("model", "k", "test_events_dropped", "groups", "tuned")
    keys = [key for key in rows[0] if key not in skip]
    table = Table("metric", *(row["model"] for row in rows))  # models as columns: fits 80 wide
    for key in keys:
        table.add_row(key, *(_fmt(row.get(key, "")) for row in rows))
    console.print(table)
    if groups is not None:
        _print_groups(rows, group_by or "", k)
    if dropped:
        console.print(f"note: {dropped} test events had a user or item unseen in training")


def user_group_labels(users: Path, column: str, user_ids: Any) -> dict[int, str]:
    """Row index → group label from a users.csv column; `age` is bucketed (<25 … 45+)."""
    from soundstage.recommend.fairness import age_group, user_groups
    from soundstage.recommend.sources import read_users

    attributes = read_users(users)
    columns = sorted({name for row in attributes.values() for name in row})
    if column not in columns:
        raise SoundstageError(
            f"{users}: no column {column!r}", hint="columns: " + ", ".join(columns)
        )
    return user_groups(user_ids, attributes, column, bucket=age_group if column == "age" else None)


def _evaluate_one(
    name: str,
    train: Any,
    test: Any,
    k: int,
    item_ids: Any,
    catalog: list[Any],
    tune: bool,
    groups: dict[int, str] | None,
) -> dict[str, Any]:
    from soundstage.recommend.data import genre_matrix
    from soundstage.recommend.metrics import evaluate
    from soundstage.recommend.pipeline import build

    built = build(name, train, item_ids, catalog, tune=tune)
    features = genre_matrix(catalog, item_ids) if catalog else None
    if features is not None and features.shape[1] == 0:
        features = None  # no genres: intra-list diversity is not measured
    metrics = evaluate(built.model, train, test, k=k, item_features=features)
    row: dict[str, Any] = {"model": name, "k": k, **metrics, "fit_s": round(built.fit_s, 3)}
    if built.tuning:
        row["tuned"] = built.tuning
    if groups is not None:
        from soundstage.recommend.fairness import group_metrics

        result = group_metrics(built.model, train, test, groups, k=k)
        row["groups"] = _jsonable(
            {
                "by_group": result.by_group,
                "overall": result.overall,
                "difference": result.difference,
                "ratio": result.ratio,
                "missing_users": result.missing_users,
            }
        )
    return row


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value


def _print_groups(rows: list[dict[str, Any]], column: str, k: int) -> None:
    for row in rows:
        result = row["groups"]
        table = Table(
            column, "users", f"ndcg@{k}", f"recall@{k}", title=f"{row['model']} by {column}"
        )
        for label, values in result["by_group"].items():
            table.add_row(
                str(label),
                str(values["users"]),
                _fmt(values[f"ndcg@{k}"]),
                _fmt(values[f"recall@{k}"]),
            )
        console.print(table)


def _fmt(value: Any) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.4f}"
    return str(int(value)) if isinstance(value, float) else str(value)
