"""Commands: `soundstage data list | show | optout` — the data and model registry.

    soundstage data list [--json]                 # id, licence, rows, models, training, opt-out
    soundstage data show olid [--json]            # every field, the model cards citing it
    soundstage data optout olid --reason "…"      # record an opt-out (DATA_DIR/datasets/)
    soundstage data optout olid --withdraw        # take it back (kept in the history)

Training entry points refuse opted-out sources and licences that forbid the use; the rule is in
`soundstage.datasets`.
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from soundstage.cli._app import app, console, state
from soundstage.errors import SoundstageError

data_app = typer.Typer(
    help="The data and model registry: sources, licences, opt-outs.", no_args_is_help=True
)
app.add_typer(data_app, name="data")


def _describe(entry: Any, optouts: dict[str, Any]) -> dict[str, Any]:
    """An entry as JSON, with this installation's opt-out and the verdict per purpose."""
    from soundstage.datasets import PURPOSES, cards_citing, verdict

    record = optouts.get(entry.id)
    data = entry.to_dict()
    local = None if record is None else {"by": record.by, "at": record.at, "reason": record.reason}
    data["optout"]["local"] = local
    data["opted_out"] = record is not None or entry.optout_status == "opted-out"
    data["training"] = {
        p: {"allowed": v.allowed, "reason": v.reason}
        for p in PURPOSES
        for v in [verdict(entry, record, p)]
    }
    data["model_cards"] = cards_citing(entry.id)
    return data


def _allowed_word(training: dict[str, Any]) -> str:
    if training["ship"]["allowed"]:
        return "yes"
    return "research only" if training["research"]["allowed"] else "no"


@data_app.command("list")
def data_list(
    as_json: bool = typer.Option(False, "--json", help="One JSON array of entries."),
) -> None:
    """Every dataset and pretrained model the project trains on, evaluates with or ships."""
    from soundstage.datasets import load_registry, read_optouts

    optouts = read_optouts(state.settings())
    rows = [_describe(e, optouts) for e in load_registry().values()]
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table("id", "kind", "licence", "rows", "models", "training allowed?", "opted out?")
    table.columns[0].no_wrap = True
    for row in rows:
        local = row["optout"]["local"]
        table.add_row(
            row["id"],
            row["kind"],
            row["licence"],
            f"{row['rows']:,}",
            "\n".join(row["models"]) or "—",
            _allowed_word(row["training"]),
            f"yes ({local['at'][:10]})" if local else ("yes" if row["opted_out"] else "no"),
        )
    console.print(table)


@data_app.command("show")
def data_show(
    dataset: str = typer.Argument(..., help="Registry id or alias (see `data list`)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """All fields of one entry, its opt-out, what training it allows and which cards cite it."""
    from soundstage.datasets import get_entry, read_optouts

    row = _describe(get_entry(dataset), read_optouts(state.settings()))
    if as_json:
        console.print_json(json.dumps(row))
        return
    table = Table("field", "value", show_header=False, box=None)
    perms = row.pop("permissions")
    training = row.pop("training")
    optout = row.pop("optout")
    for key, value in row.items():
        shown = ", ".join(value) if isinstance(value, list) else str(value)
        table.add_row(key, shown or "—")
    table.add_row("permissions", ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in perms.items()))
    table.add_row("opt-out upstream", optout["upstream"])
    local = optout["local"]
    table.add_row(
        "opt-out here",
        f"{local['at']} by {local['by']}: {local['reason']}" if local else "none",
    )
    for purpose, result in training.items():
        word = "allowed" if result["allowed"] else "refused"
        table.add_row(f"training ({purpose})", f"{word}: {result['reason']}")
    console.print(table)


@data_app.command("optout")
def data_optout(
    dataset: str = typer.Argument(..., help="Registry id or alias (see `data list`)."),
    reason: str | None = typer.Option(None, "--reason", help="Why (kept with the record)."),
    by: str | None = typer.Option(None, "--by", help="Who asked (default: your user name)."),
    withdraw: bool = typer.Option(False, "--withdraw", help="Remove this installation's opt-out."),
) -> None:
    """Opt a dataset out of training in this installation; trainers then refuse it."""
    from soundstage.datasets import optouts

    settings = state.settings()
    if withdraw:
        old = optouts.withdraw_optout(settings, dataset, by=by)
        console.print(f"withdrew the opt-out of {old.dataset} ({old.at} by {old.by})")
        return
    if reason is None:
        raise SoundstageError("an opt-out needs --reason TEXT (or --withdraw)")
    record = optouts.record_optout(settings, dataset, reason, by=by)
    console.print(
        f"opted out {record.dataset} on {record.day} by {record.by}: {record.reason} "
        f"(recorded in {optouts.optouts_path(settings)})",
        highlight=False,
        soft_wrap=True,
    )
