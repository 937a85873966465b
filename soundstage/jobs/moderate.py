"""Job kind `moderate-batch`: moderate a CSV column in a worker, with progress.

Why a job: a catalogue sweep or a backfill of a day's comments runs for minutes; a worker
survives the shell (or HTTP request) that asked for it and reports progress the API can poll.
It runs the same `moderate_csv` as `soundstage moderate batch`, so the output file is the same.

    soundstage jobs submit moderate-batch --param source=comments.csv --param text_column=body

The output lands in the job's folder as ``moderated.csv`` with a ``result.json`` (counts). With
``queue=true`` every flagged row also goes into the review queue (content id = ``id_column``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from soundstage.errors import JobError, SoundstageError
from soundstage.jobs.builtins import flag_param, no_extra_params
from soundstage.jobs.handlers import JobContext, handler
from soundstage.jobs.outputs import atomic_write_json

KIND = "moderate-batch"
PARAMS = {"source", "text_column", "id_column", "policy", "surface", "tier", "explain", "queue"}


def check_moderate_batch(params: dict[str, Any]) -> dict[str, Any]:
    """Normalise params; fail at submit time on what can be known then (files, policy)."""
    from soundstage.moderate.policy import load_policy

    no_extra_params(params, PARAMS, KIND)
    source = params.get("source")
    if not isinstance(source, str) or not Path(source).expanduser().is_file():
        raise JobError(f"{KIND} needs an existing CSV file as source, got {source!r}")
    column = params.get("text_column")
    if not isinstance(column, str) or not column:
        raise JobError(f"{KIND} needs text_column", hint="--param text_column=body")
    policy = params.get("policy", "community")
    surface = params.get("surface", "")
    try:
        spec = str(Path(policy).resolve()) if Path(str(policy)).suffix else str(policy)
        load_policy(spec).rules_for(str(surface))
    except SoundstageError as exc:
        raise JobError(exc.message, hint=exc.hint) from None
    tier = params.get("tier", "fast")
    if tier not in ("fast", "cascade", "ensemble"):
        raise JobError(f"param 'tier' must be fast, cascade or ensemble, got {tier!r}")
    return {
        "source": str(Path(source).expanduser().resolve()),
        "text_column": column,
        "id_column": str(params.get("id_column", "")),
        "policy": spec,
        "surface": str(surface),
        "tier": tier,
        "explain": flag_param(params, "explain", False),
        "queue": flag_param(params, "queue", False),
    }


@handler(KIND, check=check_moderate_batch)
def moderate_batch(ctx: JobContext) -> Path:
    """Write moderated.csv and result.json into the job's output folder."""
    from soundstage.moderate.batch import moderate_csv
    from soundstage.moderate.service import Moderator

    p = ctx.params
    moderator = Moderator.load(p["policy"], p["surface"], explain=p["explain"], tier=p["tier"])
    out = ctx.output_dir / "moderated.csv"
    result = moderate_csv(
        Path(p["source"]),
        p["text_column"],
        out,
        moderator,
        id_column=p["id_column"],
        progress=lambda done, total: ctx.report(
            0.95 * done / max(total, 1), f"{done:,}/{total:,} texts"
        ),
    )
    queued: list[str] = []
    if p["queue"] and result.flagged:
        from soundstage.moderate.queue import ReviewQueue
        from soundstage.store.db import open_store

        engine = open_store(ctx.settings)
        try:
            q = ReviewQueue(engine)
            queued = [q.submit(v, content_id=cid, text=text).id for cid, text, v in result.flagged]
        finally:
            engine.dispose()
    summary = {
        "rows": result.rows,
        "counts": result.counts,
        "output": ctx.ref(out),
        "queued": len(queued),
        "policy": moderator.policy.id,
        "model": moderator.model_id,
    }
    return atomic_write_json(ctx.output_dir / "result.json", summary)
