"""Commands: `soundstage recommend import | download` — getting interaction data in.

`import` turns any source `read_log` understands into the plain log.csv / items.csv /
users.csv that `split` and `eval` read; `download` fetches a public MovieLens archive.
"""

from __future__ import annotations

import csv
import functools
import io
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from soundstage.cli._app import console, console_err
from soundstage.cli.recommend import _need_scipy, _write_to, recommend_app
from soundstage.errors import SoundstageError

if TYPE_CHECKING:
    from soundstage.recommend.data import Item

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
    out: Path = typer.Option(..., "--out", "-o", help="Folder for log.csv, items.csv, users.csv."),
    format: str = typer.Option("auto", "--format", "-f", help=FORMAT_HELP),
    items: Path | None = typer.Option(
        None,
        "--items",
        help="Catalogue CSV/Parquet: item_id[,title,kind,genres,description,year,creator].",
    ),
) -> None:
    """Convert an interaction source into the plain CSV files `split` and `eval` read."""
    _need_scipy()
    from soundstage.export import Exporter
    from soundstage.recommend.sources import FORMATS, read_log

    if format not in FORMATS:
        raise SoundstageError(f"unknown --format {format!r}", hint="use " + ", ".join(FORMATS))
    log, catalogue, users = read_log(source, format=format, items=items)  # type: ignore[arg-type]
    exporter = Exporter(out)
    exporter.write_with("log.csv", functools.partial(_write_to, log))
    if catalogue:
        exporter.write_text("items.csv", _items_csv(catalogue))
    if users:
        exporter.write_text("users.csv", _users_csv(users))
    console.print(
        f"{len(log):,} events, {log.n_users:,} users, {log.n_items:,} rated items "
        f"({len(catalogue):,} in the catalogue) written to {out}/"
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
