"""Moderation at Spark scale: a pandas UDF that runs the same `Moderator` on every executor.

Why a pandas UDF: the classifier scores a whole Arrow batch in one vectorised numpy call, so
the per-row Python overhead of a plain UDF would dominate. Each executor process loads the
model once (cached) and gets the policy as TOML *text*, so a policy file on the driver's disk
works on a cluster whose executors cannot see it. Executors need soundstage installed (the
model ships inside the package).

`moderate_frame(df, "text")` adds one ``moderation`` struct column (a float per category,
``decision``, ``reason``, ``lang``, ``supported``) — the same fields as `moderate batch`'s CSV.
A text over 1 MiB is not scored: its row says ``review`` / "text over 1 MiB", so one bad row
does not fail a job over billions. The session comes from `soundstage.recommend.spark`
(``SOUNDSTAGE_SPARK_MASTER``, default ``local[*]``); pyspark is the optional ``spark`` extra.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from soundstage.moderate.policy import parse_policy, read_policy
from soundstage.moderate.service import MAX_BYTES, Moderator

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["moderate_frame", "result_fields"]

OUTPUT = "moderation"


@lru_cache(maxsize=4)
def _executor_moderator(policy_text: str, yaml: bool, surface: str, model: str) -> Moderator:
    from soundstage.moderate.classifier import Classifier

    policy = parse_policy(policy_text, "<spark policy>", yaml=yaml)
    return Moderator(policy, Classifier.load(Path(model) if model else None), surface, False)


def result_fields(categories: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, Spark SQL type) of the struct `moderate_frame` adds."""
    fields = [(c, "float") for c in categories]
    return (
        fields
        + [("decision", "string"), ("reason", "string"), ("lang", "string")]
        + [("supported", "boolean")]
    )


def moderate_frame(
    df: DataFrame,
    text_column: str,
    *,
    policy: str | Path = "community",
    surface: str = "",
    model: Path | None = None,
    output: str = OUTPUT,
) -> DataFrame:
    """`df` with a struct column `output` holding per-category scores and the decision."""
    import pandas as pd
    from pyspark.sql.functions import pandas_udf

    from soundstage.moderate.classifier import Classifier
    from soundstage.recommend.spark import quiet_pandas_check

    if text_column not in df.columns:
        from soundstage.errors import SoundstageError

        raise SoundstageError(
            f"no column {text_column!r} in the DataFrame (columns: {', '.join(df.columns)})"
        )
    text, source, yaml = read_policy(policy)
    parse_policy(text, source, yaml=yaml).rules_for(surface)  # fail on the driver, early
    categories = Classifier.load(model).categories
    schema = ", ".join(f"`{name}` {kind}" for name, kind in result_fields(categories))
    model_arg = str(model) if model else ""

    def moderate_batch(texts: pd.Series) -> pd.DataFrame:
        moderator = _executor_moderator(text, yaml, surface, model_arg)
        values = [t if isinstance(t, str) else "" for t in texts]
        too_long = [len(t.encode("utf-8", "surrogatepass")) > MAX_BYTES for t in values]
        verdicts = iter(
            moderator.check_many([t for t, big in zip(values, too_long, strict=True) if not big])
        )
        rows: list[dict[str, Any]] = []
        for big in too_long:
            if big:
                row: dict[str, Any] = {c: None for c in categories}
                row.update(decision="review", reason="text over 1 MiB", lang="und")
                row["supported"] = False
            else:
                v = next(verdicts)
                row = {c: v.scores.get(c) for c in categories}
                reason = "; ".join(f"{h.outcome} {h.category} {h.score:.2f}" for h in v.hits)
                row.update(decision=v.decision, reason=reason, lang=v.lang)
                row["supported"] = v.supported
            rows.append(row)
        return pd.DataFrame(rows, columns=[name for name, _ in result_fields(categories)])

    # pyspark 4.x warns that pandas 3 is "not fully supported"; this UDF's Series-to-DataFrame
    # path is tested under pandas 3 (tests/moderate/test_moderate_spark.py).
    # Real classes, not the strings `from __future__ import annotations` leaves: pyspark reads
    # the hints to pick the Series → DataFrame (struct) UDF type.
    moderate_batch.__annotations__ = {"texts": pd.Series, "return": pd.DataFrame}
    with quiet_pandas_check():
        udf = pandas_udf(moderate_batch, f"struct<{schema}>")  # type: ignore[call-overload]
        return df.withColumn(output, udf(df[text_column]))
