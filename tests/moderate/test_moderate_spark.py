"""The Spark pandas-UDF path gives the same scores and decisions as the in-process Moderator."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from soundstage.moderate.service import Moderator

TEXTS = [
    "What a lovely film, thanks for sharing the trailer",
    "you are a stupid worthless idiot, shut up",
    "I will kill you tonight",
    "Du bist ein Idiot und ich hasse dich, verschwinde endlich",
    None,
    "a" * 1_048_577,
]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark", reason="pyspark not installed (the spark extra)")
    pytest.importorskip("pandas")
    if shutil.which("java") is None:
        pytest.skip("no java on PATH (pyspark 4 needs Java 17+)")
    from soundstage.recommend.spark import spark_session

    yield spark_session("local[2]")


def test_udf_matches_the_moderator(spark: Any, tmp_path: Path) -> None:
    from soundstage.moderate.spark import moderate_frame

    df = spark.createDataFrame([(i, t) for i, t in enumerate(TEXTS)], "id int, body string")
    rows = {r["id"]: r["moderation"] for r in moderate_frame(df, "body").collect()}
    expected = Moderator.load("community", explain=False).check_many([t or "" for t in TEXTS[:5]])
    for i, verdict in enumerate(expected):
        got = rows[i]
        assert got["decision"] == verdict.decision
        assert got["supported"] == verdict.supported
        for category, score in verdict.scores.items():
            assert got[category] == pytest.approx(score, abs=1e-3)
    assert rows[3]["toxicity"] is None and rows[3]["decision"] == "review"  # German
    assert rows[5]["decision"] == "review" and rows[5]["reason"] == "text over 1 MiB"


def test_policy_file_and_bad_column(spark: Any, tmp_path: Path) -> None:
    from soundstage.errors import SoundstageError
    from soundstage.moderate.spark import moderate_frame

    policy = tmp_path / "strict.toml"
    policy.write_text('name = "strict"\nversion = "1"\n[defaults]\ntoxicity = { block = 0.0 }\n')
    df = spark.createDataFrame([(1, "hello there, friend")], "id int, body string")
    row = moderate_frame(df, "body", policy=policy).collect()[0]
    assert row["moderation"]["decision"] == "block"
    with pytest.raises(SoundstageError, match="no column 'text'"):
        moderate_frame(df, "text")
