"""Commands: `soundstage recommend import | download` — getting interaction data in.

`import` turns any source `read_log` understands into the plain log.csv / items.csv /
users.csv that `split` and `eval` read (`--out`), and/or stores it as a named dataset in the
database (`--db`) that `train db:NAME` and the `recommend-train` job read; `download` fetches
a public MovieLens archive.
"""

from __future__ import annotations

import csv
import functools
import io
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from soundstage.cli._app import console, console_err, state
from soundstage.cli.recommend import need_scipy, recommend_app, write_to
from soundstage.errors import SoundstageError

if TYPE_CHECKING:
    from soundstage.recommend.data import Interactions, Item, UserAttributes

FORMAT_HELP = "auto, movielens, lastfm, csv or parquet (auto: by folder contents or suffix)."


@recommend_app.command("import")
def recommend_import(
    source: Path = typer.Argument(
        ...,
        help=(
            "A MovieLens folder (100K, 1M, latest, 20M, 25M), a Last.fm folder or file "
            "(HetRec 2k, 360K, 1K), a .parquet or a .csv/.tsv log."
        ),
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Folder for log.csv, items.csv, users.csv."
    ),
    format: str = typer.Option("auto", "--format", "-f", help=FORMAT_HELP),
    items: Path | None = typer.Option(
        None,
        "--items",
        help="Catalogue CSV/Parquet: item_id[,title,kind,genres,description,year,creator].",
    ),
    db: bool = typer.Option(
        False, "--db", help="Store it in the database (train with `recommend train db:NAME`)."
    ),
    dataset: str | None = typer.Option(
        None, "--dataset", help="Dataset name in the database (default: default). Needs --db."
    ),
    event: str = typer.Option(
        "rating", "--event", help="Event kind to store: rating, play, like, skip or complete."
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Replace the dataset's events of this kind instead of appending."
    ),
) -> None:
    """Convert an interaction source into CSV files (`--out`) and/or the database (`--db`)."""
    if not db and (dataset is not None or replace):
        flag = "--dataset" if dataset is not None else "--replace"
        raise SoundstageError(f"{flag} only applies with --db", hint="add --db")
    if out is None and not db:
        raise SoundstageError(
            "recommend import needs --out FOLDER or --db (or both)",
            hint="--out writes log.csv/items.csv/users.csv; --db stores them in the database",
        )
    need_scipy()
    from soundstage.recommend.sources import FORMATS, read_log
    from soundstage.recommend.store import DEFAULT_DATASET, INTERACTION_EVENTS, MAX_DATASET

    if format not in FORMATS:
        raise SoundstageError(f"unknown --format {format!r}", hint="use " + ", ".join(FORMATS))
    if event not in INTERACTION_EVENTS:
        raise SoundstageError(
            f"unknown --event {event!r}", hint="use " + ", ".join(INTERACTION_EVENTS)
        )
    if dataset is not None and not 1 <= len(dataset) <= MAX_DATASET:
        raise SoundstageError(f"--dataset {dataset!r} must be 1 to {MAX_DATASET} characters")
    log, catalogue, users = read_log(source, format=format, items=items)  # type: ignore[arg-type]
    if db:
        _import_to_db(log, catalogue, users, dataset or DEFAULT_DATASET, event, replace)
    if out is not None:
        _export_files(out, log, catalogue, users)


def _export_files(
    out: Path, log: Interactions, catalogue: list[Item], users: UserAttributes
) -> None:
    from soundstage.export import Exporter

    exporter = Exporter(out)
    exporter.write_with("log.csv", functools.partial(write_to, log))
    if catalogue:
        exporter.write_text("items.csv", _items_csv(catalogue))
    if users:
        exporter.write_text("users.csv", _users_csv(users))
    console.print(
        f"{len(log):,} events, {log.n_users:,} users, {log.n_items:,} rated items "
        f"({len(catalogue):,} in the catalogue) written to {out}/"
    )


def _import_to_db(
    log: Interactions,
    catalogue: list[Item],
    users: UserAttributes,
    dataset: str,
    event: str,
    replace: bool,
) -> None:
    """Catalogue, users and events in one transaction: a failure leaves the dataset as it was."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from soundstage.recommend import store
    from soundstage.store.db import open_store, translate_errors

    settings = state.settings()
    engine = open_store(settings)
    steps = (
        ("catalogue", lambda conn: store.save_catalog(conn, catalogue, dataset=dataset)),
        ("users", lambda conn: store.save_users(conn, users, dataset=dataset)),
        (
            "interactions",
            lambda conn: store.append_interactions(
                conn, log, event=event, dataset=dataset, replace=replace
            ),
        ),
    )
    counts: dict[str, int] = {}
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    try:
        with (
            Progress(*columns, console=console_err, transient=True) as bar,
            translate_errors(engine, "cannot import into"),
            engine.begin() as conn,
        ):
            task = bar.add_task("", total=len(steps) + 1)
            for label, write in steps:
                bar.update(task, description=f"storing {label} in dataset {dataset!r}")
                counts[label] = write(conn)
                bar.advance(task)
            bar.update(task, description="committing")
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    verb = "replaced" if replace else "appended"
    console.print(
        f"dataset {dataset!r}: {counts['interactions']:,} {event} events {verb} "
        f"({log.n_users:,} users, {log.n_items:,} items), {counts['catalogue']:,} catalogue "
        f"items and {counts['users']:,} users saved to {where}",
        highlight=False,
        soft_wrap=True,
    )


def _items_csv(items: list[Item]) -> str:
    """items.csv; description and creator columns only when some item has them."""
    extra = [name for name in ("description", "creator") if any(getattr(i, name) for i in items)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["item_id", "title", "kind", "genres", "year", *extra])
    for item in items:
        year = "" if item.year is None else item.year
        row = [item.id, item.title, item.kind, "|".join(item.genres), year]
        writer.writerow([*row, *(getattr(item, name) for name in extra)])
    return buffer.getvalue()


def _users_csv(users: dict[str, dict[str, str]]) -> str:
    fields = sorted({key for attrs in users.values() for key in attrs})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["user_id", *fields])
    for user_id, attrs in users.items():
        writer.writerow([user_id, *(attrs.get(f, "") for f in fields)])
    return buffer.getvalue()


@recommend_app.command("download")
def recommend_download(
    name: str = typer.Argument(
        ..., help="ml-100k, ml-latest-small, ml-1m, ml-20m, ml-25m or ml-latest."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to unpack into (as OUT/NAME)."),
    sha256: str | None = typer.Option(
        None, "--sha256", help="Also require this SHA-256 of the zip (pins an exact release)."
    ),
    url: str | None = typer.Option(
        None, "--url", help="Mirror base URL (default $SOUNDSTAGE_MOVIELENS_URL or GroupLens)."
    ),
) -> None:
    """Download a public MovieLens archive, verify its checksum and unpack it."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    from soundstage.recommend.download import LICENCE, download_movielens

    console_err.print(f"licence: {LICENCE}", highlight=False, soft_wrap=True)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
    with Progress(*columns, TransferSpeedColumn(), console=console_err, transient=True) as bar:
        task = bar.add_task(f"{name}.zip", total=None)

        def on_progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        folder = download_movielens(name, out, base_url=url, sha256=sha256, on_progress=on_progress)
    console_err.print(f"{name} verified and unpacked to {folder}/", highlight=False)
    typer.echo(str(folder))  # stdout: just the path, for DATA=$(soundstage recommend download …)
