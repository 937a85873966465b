"""Job kind `recommend-train`: fit a recommender in a worker and publish it to the registry.

Why a job: a nightly retrain on a large stored log takes minutes, and a worker survives the
shell that asked for it. It runs the same `train_and_publish` as `soundstage recommend train`,
so a job-trained version is exactly what the CLI would have published.

    soundstage jobs submit recommend-train --param source=db:movielens --param min_value=4

Params are checked at submit time; scipy and the models load only inside the handler.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from soundstage.errors import JobError
from soundstage.jobs.builtins import flag_param, no_extra_params
from soundstage.jobs.handlers import JobContext, handler
from soundstage.jobs.outputs import atomic_write_json

KIND = "recommend-train"
PARAMS = {"source", "model", "items", "min_value", "tune", "version", "activate"}
DB_PREFIX = "db:"  # as in soundstage.recommend.loading, without importing numpy at submit time
MAX_DATASET = 64
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")  # what the registry accepts

# Share of the job's progress bar per training step; steps a run skips are jumped over.
_STEPS = (("loading", 0.1), ("embedding", 0.2), ("tuning", 0.4), ("fitting", 0.2), ("saving", 0.1))


def check_recommend_train(params: dict[str, Any]) -> dict[str, Any]:
    """Normalise params; file paths become absolute because a worker runs elsewhere."""
    no_extra_params(params, PARAMS, KIND)
    return {
        "source": _source(params.get("source")),
        "model": _model(params.get("model", "ease")),
        "items": _file(params.get("items"), "items") if params.get("items") is not None else None,
        "min_value": _min_value(params.get("min_value")),
        "tune": flag_param(params, "tune", False),
        "version": _version(params.get("version")),
        "activate": flag_param(params, "activate", True),
    }


@handler(KIND, check=check_recommend_train)
def recommend_train(ctx: JobContext) -> Path:
    """Fit a recommender on a log file or db:NAME and publish it; writes result.json."""
    from soundstage.recommend.loading import load_source
    from soundstage.recommend.pipeline import train_and_publish
    from soundstage.recommend.registry import Registry

    p = ctx.params
    progress = _Progress(ctx)
    progress("loading", 0, 1)
    log, catalog, _users = load_source(p["source"], p["items"], settings=ctx.settings)
    progress("loading", 1, 1)
    done = train_and_publish(
        log,
        catalog,
        Registry(ctx.settings.data_dir / "recommend"),
        model=p["model"],
        min_value=p["min_value"],
        tune=p["tune"],
        version=p["version"],
        activate=p["activate"],
        source=p["source"],
        progress=progress,
    )
    # No ctx.report() from here on: a cancel now would mark a published version as cancelled.
    result = {
        "version": done.version,
        "model": done.model,
        "active": p["activate"],
        "events": done.events,
        "users": done.users,
        "items": done.items,
        "fit_s": round(done.fit_s, 3),
        "tuning": done.tuning,
    }
    return atomic_write_json(ctx.output_dir / "result.json", result)


class _Progress:
    """`train_and_publish`'s progress(label, done, total) as one rising 0..1 job progress."""

    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.last = 0.0

    def __call__(self, label: str, done: int, total: int) -> None:
        if label == "saving" and done >= total:
            return  # the version is published: nothing left to cancel (see the handler)
        start, share = 0.0, 0.0
        for step, weight in _STEPS:
            if label.startswith(step):
                share = weight
                break
            start += weight
        else:
            start, share = self.last, 0.0  # a label we do not know: hold the bar where it is
        fraction = done / total if total > 0 else 1.0
        self.last = max(self.last, start + share * min(max(fraction, 0.0), 1.0))
        self.ctx.report(self.last, f"{label} {done}/{total}" if total > 1 else label)


# --- param checks ---------------------------------------------------------------------------


def _source(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise JobError(
            f"{KIND} needs a source", hint="--param source=log.csv or --param source=db:NAME"
        )
    value = value.strip()
    if value.startswith(DB_PREFIX):
        name = value[len(DB_PREFIX) :].strip()
        if not name or len(name) > MAX_DATASET:
            raise JobError(
                f"param 'source' {value!r}: the dataset name must be 1 to {MAX_DATASET} characters"
            )
        return DB_PREFIX + name
    return _file(value, "source")


def _file(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise JobError(f"param {key!r} must be a file or folder path, got {value!r}")
    path = Path(value.strip()).expanduser().resolve()
    if not path.exists():
        raise JobError(f"param {key!r}: {path} does not exist")
    return str(path)


def _model(value: Any) -> str:
    try:
        from soundstage.recommend.models import model_names
    except ImportError:
        raise JobError(f"{KIND} needs scipy", hint="pip install 'soundstage[recommend]'") from None
    names = model_names()
    if not isinstance(value, str) or value not in names:
        raise JobError(f"unknown model {value!r}", hint="use one of: " + ", ".join(names))
    return value


def _min_value(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise JobError(f"param 'min_value' must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise JobError(f"param 'min_value' must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise JobError(f"param 'min_value' must be a finite number, got {value!r}")
    return number


def _version(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _VERSION.match(value):
        raise JobError(
            f"param 'version' {value!r} is not a version name",
            hint="use up to 100 letters, digits, . _ - (starting with a letter or digit)",
        )
    return value
