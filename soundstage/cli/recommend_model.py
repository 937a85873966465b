"""Commands: `soundstage recommend train | recommend | models | activate | serve`.

`train` fits a model on a log (optionally tuning it and embedding a catalog) and publishes it
as a new version in the registry under the data directory; `recommend` answers for one user
from the active (or a named) version; `serve` runs the HTTP API over the same registry, so a
`train` or `activate` in another shell is picked up without a restart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from soundstage.cli._app import console, console_err, state
from soundstage.cli.recommend import need_scipy, recommend_app
from soundstage.errors import SoundstageError


def _registry() -> Any:
    from soundstage.recommend.registry import Registry

    return Registry(state.settings().data_dir / "recommend")


@recommend_app.command("train")
def recommend_train(
    log: Path = typer.Argument(..., help="Interaction log: CSV/Parquet file or any import source."),
    model: str = typer.Option("ease", "--model", "-m", help="Model name (see `recommend eval`)."),
    items: Path | None = typer.Option(None, "--items", help="Catalog CSV/Parquet (titles…)."),
    min_value: float | None = typer.Option(
        None, "--min-value", help="Implicit rule: keep events with value ≥ this (e.g. 4)."
    ),
    tune: bool = typer.Option(False, "--tune", help="Grid-search on a validation split first."),
    version: str | None = typer.Option(None, "--version", help="Version name (default: time)."),
    activate: bool = typer.Option(True, "--activate/--no-activate", help="Serve it at once."),
) -> None:
    """Fit a recommender and publish it as a new version in the registry."""
    need_scipy()
    from soundstage.datasets import check_path_use
    from soundstage.recommend.loading import load_source
    from soundstage.recommend.pipeline import train_and_publish

    check_path_use(log, state.settings(), purpose="research")  # a registered set: opt-outs
    data, catalog, _users = load_source(log, items, settings=state.settings())
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console_err, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def progress(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done, total=total)

        done = train_and_publish(
            data,
            catalog,
            _registry(),
            model=model,
            min_value=min_value,
            tune=tune,
            version=version,
            activate=activate,
            source=str(log),
            progress=progress,
        )
    state_word = "active" if activate else "not active"
    console.print(
        f"trained {model} on {done.events:,} events ({done.users:,} users × {done.items:,} items) "
        f"in {done.fit_s:.2f} s → version [bold]{done.version}[/] ({state_word})",
        highlight=False,
    )
    for target, result in done.tuning.items():
        console.print(
            f"tuned {target}: {result['best_params']} (validation {result['metric']} "
            f"{result['validation']}, {result['trials']} trials)",
            highlight=False,
        )


@recommend_app.command("recommend")
def recommend_user(
    user_id: str = typer.Argument(..., help="User id as in the training log."),
    n: int = typer.Option(10, "--n", "-n", help="How many items (1–1000)."),
    kind: str | None = typer.Option(None, "--kind", help="Only items of this kind."),
    include_seen: bool = typer.Option(False, "--include-seen", help="Allow items already seen."),
    diversity: float = typer.Option(0.0, "--diversity", help="0 = pure relevance … 1 = diverse."),
    calibration: float = typer.Option(
        0.0, "--calibration", help="0 = pure relevance … 1 = genres as in the user's history."
    ),
    version: str | None = typer.Option(None, "--version", help="Default: the active version."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON."),
) -> None:
    """Top-n items for one user, with the reason for each."""
    need_scipy()
    from soundstage.recommend.service import recommend_for

    bundle = _registry().load(version)
    answer = recommend_for(
        bundle,
        user_id,
        n,
        kind=kind,
        exclude_seen=not include_seen,
        diversity=diversity,
        calibration=calibration,
    )
    if as_json:
        typer.echo(json.dumps(answer.as_dict(), indent=1, ensure_ascii=False))
        return
    heading = "new user: popular and onboarding picks" if answer.cold_start else "for you"
    table = Table("#", "item", "title", "score", "why", title=f"{user_id} — {heading}")
    for rank, pick in enumerate(answer.items, 1):
        table.add_row(str(rank), pick.item_id, pick.title, f"{pick.score:.3f}", pick.explanation)
    console.print(table)
    console.print(f"model {answer.model}, version {answer.version}", highlight=False)


@recommend_app.command("models")
def recommend_models() -> None:
    """List the model versions in the registry; * marks the active one."""
    registry = _registry()
    active = registry.active()
    versions = registry.versions()
    if not versions:
        console.print(f"no models yet in {registry.root} — run `soundstage recommend train`")
        return
    table = Table("", "version", "model", "users", "items", "events", "fit s", "created")
    for v in versions:
        card = registry.card(v)
        table.add_row(
            "*" if v == active else "",
            v,
            str(card.get("model")),
            f"{card.get('users', 0):,}",
            f"{card.get('items', 0):,}",
            f"{card.get('interactions', 0):,}",
            str(card.get("fit_s", "")),
            str(card.get("created", "")),
        )
    console.print(table)


@recommend_app.command("activate")
def recommend_activate(version: str = typer.Argument(..., help="A version from `models`.")) -> None:
    """Serve another model version (running servers switch on their next request)."""
    _registry().activate(version)
    console.print(f"active model version: {version}", highlight=False)


@recommend_app.command("serve")
def recommend_serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on (0 picks a free one)."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Server processes."),
    no_auth: bool = typer.Option(
        False, "--no-auth", help="Serve without sign-in (loopback addresses, one worker only)."
    ),
    allowed_host: list[str] = typer.Option(
        [], "--allowed-host", help="A Host header to answer besides --host's ('*' for any)."
    ),
) -> None:
    """Serve GET /recommendations/{user_id} (and model switching) over HTTP."""
    need_scipy()
    import os

    import uvicorn
    from threadpoolctl import threadpool_limits

    from soundstage.cli.serve import announce_auth, bind, server_accounts
    from soundstage.web.auth import allowed_hosts, install_host_check
    from soundstage.web.recommend_api import create_recommend_app

    if no_auth and workers > 1:
        raise SoundstageError("--no-auth serves one process: drop --workers or --no-auth")
    accounts = server_accounts(state.settings(), host, no_auth, allowed_host)
    registry = _registry()
    bundle = registry.load()  # fail now, with one line, if nothing is trained yet
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    console.print(
        f"serving {bundle.model.name} ({bundle.version}) at "
        f"http://{bound_host}:{bound_port}/recommendations/{{user_id}}",
        highlight=False,
        soft_wrap=True,  # one line, so scripts can read the URL
    )
    announce_auth(accounts)
    quiet = {"log_level": "warning", "access_log": False}
    if workers == 1:
        from soundstage.recommend.events import EventLog

        events = EventLog(accounts.engine) if accounts is not None else None
        per_minute = state.settings().rate_limit_per_minute
        app = create_recommend_app(registry, accounts, events, per_minute)
        install_host_check(app, allowed_hosts(host, allowed_host))
        config = uvicorn.Config(app, **quiet)  # type: ignore[arg-type]
        # One request is a few small matrix products: multi-threaded BLAS only adds contention.
        with threadpool_limits(limits=1):
            uvicorn.Server(config).run(sockets=[sock])
        return
    from uvicorn.supervisors import Multiprocess

    # Worker processes rebuild the app from the environment (spawned, not forked).
    os.environ["SOUNDSTAGE_DATA_DIR"] = str(state.settings().data_dir)
    os.environ["SOUNDSTAGE_ALLOWED_HOSTS"] = ",".join(allowed_hosts(host, allowed_host))
    factory = "soundstage.web.recommend_api:app_from_env"
    config = uvicorn.Config(factory, factory=True, workers=workers, **quiet)  # type: ignore[arg-type]
    Multiprocess(config, sockets=[sock]).run()
