"""Commands: `soundstage moderate TEXT | batch | policies | train` — thin layers over
`soundstage.moderate.service.Moderator` (the review-queue commands are in `moderate_queue.py`).

`soundstage moderate "some text"` runs the default `check` command, so the common case needs no
sub-command name; `soundstage moderate batch …` and the others work as usual.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from soundstage.cli._app import app, console, console_err
from soundstage.errors import FormatError, SoundstageError
from soundstage.moderate.types import Verdict


class DefaultCommandGroup(TyperGroup):
    """A group that runs `check` when the first word is not a sub-command: `moderate TEXT`."""

    default = "check"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default, *args]
        return super().parse_args(ctx, args)


moderate_app = typer.Typer(
    cls=DefaultCommandGroup,
    help="Moderate text: scores per category, a policy decision, a human review queue.",
    no_args_is_help=True,
)
app.add_typer(moderate_app, name="moderate")

POLICY_HELP = "Built-in policy (community, kids, release) or a .toml/.yaml policy file."


TIER_HELP = (
    "fast (n-grams only), cascade (MiniLM second opinion on borderline texts) or ensemble "
    "(MiniLM on every text: most accurate, ~200 texts/s)."
)


def _moderator(
    policy: str, surface: str, model: Path | None, explain: bool = True, tier: str = "fast"
) -> Any:
    from soundstage.moderate.service import Moderator

    return Moderator.load(policy, surface, model=model, explain=explain, tier=tier)


def _read_stdin() -> str:
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"stdin: not valid UTF-8 (byte {exc.start})") from None


@moderate_app.command("check")
def moderate_check(
    text: str = typer.Argument(..., help='The text to moderate; "-" reads it from stdin.'),
    policy: str = typer.Option("community", "--policy", "-p", help=POLICY_HELP),
    surface: str = typer.Option("", "--surface", help="A surface of the policy, e.g. chat."),
    model: Path | None = typer.Option(None, "--model", help="Classifier folder (default: ours)."),
    as_json: bool = typer.Option(False, "--json", help="Print the verdict as JSON."),
    tier: str = typer.Option("fast", "--tier", help=TIER_HELP),
    queue: bool = typer.Option(
        False, "--queue", help="Put a review/block verdict into the review queue."
    ),
    content_id: str = typer.Option("", "--content-id", help="Your id for the text (queue)."),
) -> None:
    """Score one text per category and decide allow / review / block under a policy."""
    from soundstage.moderate.service import TextError

    body = _read_stdin() if text == "-" else text
    moderator = _moderator(policy, surface, model, tier=tier)
    try:
        verdict = moderator.check(body)
    except TextError as exc:
        raise SoundstageError(exc.message) from None
    item_id = None
    if queue and verdict.decision != "allow":
        item_id = _submit([(content_id or verdict.text_sha256[:16], body, verdict)], "automated")[0]
    if as_json:
        data = verdict.to_json()
        if item_id is not None:
            data["queue_item"] = item_id
        console.print_json(json.dumps(data, ensure_ascii=False))
        return
    _print_verdict(verdict)
    if item_id is not None:
        console.print(f"queued for review as item {item_id}", highlight=False)


def _print_verdict(v: Verdict) -> None:
    colour = {"allow": "green", "review": "yellow", "block": "red"}[v.decision]
    console.print(
        f"[bold {colour}]{v.decision.upper()}[/]  policy {v.policy}"
        + (f" / {v.surface}" if v.surface else "")
        + f"  model {v.model} ({v.tier})  lang {v.lang}",
        highlight=False,
    )
    if v.scores:
        table = Table(box=None, show_header=True, pad_edge=False)
        table.add_column("category")
        table.add_column("score", justify="right")
        table.add_column("")
        for category, score in v.scores.items():
            table.add_row(category, f"{score:.3f}", "█" * round(score * 20))
        console.print(table)
    for hit in v.hits:
        console.print(
            f"  {hit.outcome}: {hit.category} {hit.score:.3f} ≥ {hit.threshold:g}  ({hit.clause})",
            highlight=False,
        )
    if v.spans:
        words = ", ".join(f"{s.text!r} ({s.category})" for s in v.spans)
        console.print(f"  because of: {words}", highlight=False, soft_wrap=True)
    if v.changes:
        console.print(f"  evasion undone: {', '.join(v.changes)}", highlight=False)
    for note in v.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)


@moderate_app.command("batch")
def moderate_batch(
    source: Path = typer.Argument(..., help="A UTF-8 CSV file with a header row."),
    text_column: str = typer.Option(..., "--text-column", help="The column holding the text."),
    out: Path = typer.Option(..., "--out", "-o", help="CSV to write: input + mod_* columns."),
    id_column: str = typer.Option("", "--id-column", help="A column with your content ids."),
    policy: str = typer.Option("community", "--policy", "-p", help=POLICY_HELP),
    surface: str = typer.Option("", "--surface", help="A surface of the policy, e.g. chat."),
    model: Path | None = typer.Option(None, "--model", help="Classifier folder (default: ours)."),
    queue: bool = typer.Option(False, "--queue", help="Put review/block rows into the queue."),
    tier: str = typer.Option("fast", "--tier", help=TIER_HELP),
    explain: bool = typer.Option(
        False, "--explain/--no-explain", help="Add the words that drove each flag (slower)."
    ),
) -> None:
    """Moderate a CSV column: one score column per category, a decision and its reason."""
    from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn

    from soundstage.moderate.batch import moderate_csv

    moderator = _moderator(policy, surface, model, explain, tier)
    with _lazy_bar(BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as bar:
        result = moderate_csv(
            source,
            text_column,
            out,
            moderator,
            id_column=id_column,
            progress=lambda done, total: bar("moderating", done, total),
        )
    counts, queued = result.counts, ""
    if queue and result.flagged:
        queued = f"; {len(_submit(result.flagged, 'automated'))} queued for review"
    console.print(
        f"{result.rows:,} rows → {out}: {counts['allow']:,} allow, {counts['review']:,} review, "
        f"{counts['block']:,} block{queued}",
        highlight=False,
        soft_wrap=True,
    )


@contextmanager
def open_queue() -> Iterator[Any]:
    """The review queue on the configured store, closed afterwards (one per command)."""
    from soundstage.cli._app import state
    from soundstage.moderate.queue import ReviewQueue
    from soundstage.store.db import open_store

    settings = state.settings()
    engine = open_store(settings)
    try:
        yield ReviewQueue(engine, lease=timedelta(minutes=settings.claim_lease_minutes))
    finally:
        engine.dispose()


def _submit(items: list[tuple[str, str, Verdict]], source: str) -> list[str]:
    with open_queue() as q:
        return [
            q.submit(v, content_id=cid, surface=v.surface, text=text, source=source).id
            for cid, text, v in items
        ]


@contextmanager
def _lazy_bar(*columns: Any) -> Iterator[Callable[[str, float, float], None]]:
    """A transient progress bar that appears on the first report, i.e. after the input checks,
    so an error about the input prints alone on stderr."""
    from rich.progress import Progress, TaskID

    bar = Progress(*columns, console=console_err, transient=True)
    tasks: list[TaskID] = []

    def report(what: str, done: float, total: float) -> None:
        if not tasks:
            bar.start()
            tasks.append(bar.add_task(what, total=total))
        bar.update(tasks[0], description=what, completed=done, total=total)

    try:
        yield report
    finally:
        if tasks:
            bar.stop()


@moderate_app.command("policies")
def moderate_policies(
    name: str = typer.Argument("", help="Show one policy's thresholds (name or file)."),
) -> None:
    """List the built-in policies, or show one policy's thresholds per surface."""
    from soundstage.moderate.policy import builtin_policies, load_policy

    names = [name] if name else builtin_policies()
    for n in names:
        p = load_policy(n)
        console.print(f"[bold]{p.id}[/]  {p.description}", highlight=False)
        for surface in ("", *p.surfaces):
            table = Table(title=f"surface: {surface or 'default'}", box=None, title_justify="left")
            for col in ("category", "review ≥", "block ≥", "clause"):
                table.add_column(col)
            for rule in p.rules_for(surface).values():
                table.add_row(
                    rule.category,
                    "—" if rule.review is None else f"{rule.review:g}",
                    "—" if rule.block is None else f"{rule.block:g}",
                    rule.clause,
                )
            if name or not surface:
                console.print(table)


@moderate_app.command("train")
def moderate_train(
    data: Path = typer.Option(..., "--data", help="../shared/data/mod (OLID and Davidson)."),
    out: Path = typer.Option(..., "--out", "-o", help="Model folder to write."),
    seed: int = typer.Option(13, "--seed"),
) -> None:
    """Train the fast classifier on OLID + Davidson (needs scikit-learn: the train extra)."""
    import importlib.util

    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn

    if importlib.util.find_spec("sklearn") is None:
        raise SoundstageError("training needs scikit-learn", hint="pip install 'soundstage[train]'")
    from soundstage.moderate.train import train

    columns = (TextColumn("{task.description:<24}"), BarColumn(), TimeElapsedColumn())
    with _lazy_bar(*columns) as bar:
        report = train(data, out, seed=seed, progress=lambda what, done: bar(what, done, 1.0))
    console.print(f"model written to {out}/", highlight=False)
    console.print_json(json.dumps(report.get("metrics", report), default=str))
