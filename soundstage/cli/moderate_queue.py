"""Commands: `soundstage moderate queue list | claim | decide | appeal | decide-appeal | show |
statement | stats | report` — the human review queue (`soundstage.moderate.queue`) for reviewers
working from a terminal. Every command is one transaction; every decision lands in the
append-only audit log with the reviewer's name.
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from soundstage.cli._app import console
from soundstage.cli.moderate import moderate_app, open_queue

queue_app = typer.Typer(help="The human review queue: claim, decide, appeal.", no_args_is_help=True)
moderate_app.add_typer(queue_app, name="queue")

REVIEWER = typer.Option(..., "--reviewer", "-r", help="Who is deciding (recorded in the log).")
REASON = typer.Option(..., "--reason", help="Why, in a sentence the user will read.")
CLAUSE = typer.Option(None, "--clause", help="The policy clause a block enforces.")


def _show(item: Any, as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(item.to_dict(), ensure_ascii=False))
        return
    v = item.verdict
    why = "; ".join(f"{h.category} {h.score:.2f}" for h in v.hits) if v else "user report"
    console.print(
        f"[bold]{item.id}[/] {item.status}  content {item.content_id}  surface "
        f"{item.surface or '-'}  source {item.source}  model said {item.automated_decision or '-'}"
        f" ({why})",
        highlight=False,
    )
    if item.text is not None:
        console.print(f"  text: {item.text[:500]!r}", highlight=False, soft_wrap=True)
    if item.decision:
        console.print(
            f"  decided {item.decision} by {item.decided_by}: {item.reason}", highlight=False
        )
    if item.appeal_outcome:
        console.print(
            f"  appeal {item.appeal_outcome} by {item.appeal_decided_by}", highlight=False
        )


@queue_app.command("list")
def queue_list(
    limit: int = typer.Option(50, "--limit", "-n", min=1),
    surface: str | None = typer.Option(None, "--surface"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Items awaiting review, highest priority first, then oldest."""
    with open_queue() as q:
        items = q.pending(limit, surface)
    if as_json:
        console.print_json(json.dumps([i.to_dict() for i in items], ensure_ascii=False))
        return
    table = Table("id", "status", "priority", "surface", "model", "why", "text", box=None)
    for i in items:
        why = ", ".join(h.category for h in i.verdict.hits) if i.verdict else "report"
        text = (i.text or "(not stored)")[:60].replace("\n", " ")
        table.add_row(
            i.id, i.status, f"{i.priority:.2f}", i.surface, i.automated_decision or "-", why, text
        )
    console.print(table)
    console.print(f"{len(items)} item(s)", highlight=False)


@queue_app.command("claim")
def queue_claim(
    reviewer: str = REVIEWER,
    surface: str | None = typer.Option(None, "--surface"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Assign the next item to you (never one you decided, when it comes back on appeal)."""
    with open_queue() as q:
        item = q.claim(reviewer, surface=surface)
    if item is None:
        console.print("nothing to review", highlight=False)
        return
    _show(item, as_json)


@queue_app.command("release")
def queue_release(item_id: str = typer.Argument(...), reviewer: str = REVIEWER) -> None:
    """Give an item you claimed back to the queue."""
    with open_queue() as q:
        item = q.release(item_id, reviewer)
    console.print(f"{item.id} is back in the queue ({item.status})", highlight=False)


@queue_app.command("decide")
def queue_decide(
    item_id: str = typer.Argument(...),
    decision: str = typer.Argument(..., help="allow or block."),
    reviewer: str = REVIEWER,
    reason: str = REASON,
    clause: str | None = CLAUSE,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Decide an item you claimed."""
    with open_queue() as q:
        _show(q.decide(item_id, reviewer, decision, reason, clause), as_json)


@queue_app.command("appeal")
def queue_appeal(
    item_id: str = typer.Argument(...),
    appellant: str = typer.Option(..., "--by", help="Who appeals (the author or reporter)."),
    reason: str = REASON,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Appeal a decision: it reopens for a second reviewer."""
    with open_queue() as q:
        _show(q.appeal(item_id, appellant, reason), as_json)


@queue_app.command("decide-appeal")
def queue_decide_appeal(
    item_id: str = typer.Argument(...),
    decision: str = typer.Argument(..., help="allow or block."),
    reviewer: str = REVIEWER,
    reason: str = REASON,
    clause: str | None = CLAUSE,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Decide an appeal (a different reviewer from the first decision)."""
    with open_queue() as q:
        _show(q.decide_appeal(item_id, reviewer, decision, reason, clause), as_json)


@queue_app.command("report")
def queue_report(
    content_id: str = typer.Argument(...),
    text: str = typer.Argument(..., help="The reported text."),
    reporter: str = typer.Option(..., "--by", help="Who reports it."),
    reason: str = REASON,
    surface: str = typer.Option("", "--surface"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """A user report: it joins the same queue as automated flags."""
    with open_queue() as q:
        _show(q.report(content_id, reporter, reason, text, surface=surface), as_json)


@queue_app.command("show")
def queue_show(item_id: str = typer.Argument(...)) -> None:
    """An item and its full audit history."""
    with open_queue() as q:
        item, events = q.get(item_id), q.history(item_id)
    _show(item, False)
    table = Table("at", "actor", "action", "decision", "reason", box=None)
    for e in events:
        table.add_row(
            e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action, e.decision or "", e.reason or ""
        )
    console.print(table)


@queue_app.command("statement")
def queue_statement(
    item_id: str = typer.Argument(...),
    as_json: bool = typer.Option(False, "--json", help="JSON instead of markdown."),
) -> None:
    """The DSA-style statement of reasons for an item's decision."""
    from soundstage.moderate.reasons import render_markdown

    with open_queue() as q:
        statement = q.statement_of_reasons(item_id)
    if as_json:
        console.print_json(json.dumps(statement, ensure_ascii=False, default=str))
    else:
        console.print(render_markdown(statement), highlight=False, markup=False)


@queue_app.command("stats")
def queue_stats() -> None:
    """Queue volume by status and source; appeal overturn rate."""
    with open_queue() as q:
        console.print_json(json.dumps(q.stats(), default=str))
