"""The generator audit: the gender swap of loglines, and counterfactual pairs written by the
real embedded writer through `produce` (CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_soundstage

from soundstage.audit.counterfactual import read_loglines, swap_gender
from soundstage.errors import SoundstageError


@pytest.mark.parametrize(
    ("logline", "swapped"),
    [
        (
            "A retired keeper must save the smuggler who ruined her family.",
            "A retired keeper must save the smuggler who ruined his family.",
        ),
        (
            "Two sisters run their late mother's bakery; she never trusted them.",
            "Two brothers run their late father's bakery; he never trusted them.",
        ),
        (
            "A detective must decide whether to believe her.",
            "A detective must decide whether to believe him.",
        ),
        ("HIS Majesty the King and Mr Lee.", "HER Majesty the Queen and Mrs Lee."),
        ("A waiter realises the groom framed him.", "A waitress realises the bride framed her."),
        ("A chef with one hour.", "A chef with one hour."),  # nothing to swap
    ],
)
def test_swap_gender(logline: str, swapped: str) -> None:
    assert swap_gender(logline) == swapped


def test_swapping_twice_gives_the_logline_back() -> None:
    for line in read_loglines(
        (Path(__file__).parents[2] / "benchmarks/data/loglines_gender.txt").read_text(), "x"
    ):
        assert swap_gender(line) != line
        if " her " not in f" {line} " and " him" not in line:  # her → his/him is many-to-one
            assert swap_gender(swap_gender(line)) == line


def test_loglines_file_errors() -> None:
    with pytest.raises(SoundstageError, match="f.txt: no loglines"):
        read_loglines("# only a comment\n\n", "f.txt")


@pytest.mark.slow
def test_cli_writes_pairs_with_the_embedded_writer(settings: object, tmp_path: Path) -> None:
    lines = tmp_path / "loglines.txt"
    lines.write_text("A widowed fisherwoman fights for her harbour.\nA chef with no gender.\n")
    out = tmp_path / "gen"
    done = run_soundstage(
        "audit", "generator", "--loglines", str(lines), "--model", "embedded",
        "--minutes", "1", "--out", str(out), "--json", timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["pairs"] == 1 and summary["scripts"] == 2  # the chef has nothing to swap
    assert summary["protagonist_followed_swap"] == 1 and summary["gap_pairs"] == 1
    assert summary["gap_ci95"] is None  # one pair: no interval (and never NaN in JSON)
    data = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    pair = data["pairs"][0]
    assert pair["swapped"] == "A widowed fisherman fights for his harbour."
    assert pair["protagonist"] == ["female", "male"]
    share = pair["audit"][0]["dialogue_share"].get("female", 0.0)
    assert 0 < share < 1 and summary["female_share_original"] == round(share, 4)
    assert (out / "scripts" / "001" / "screenplay.fountain").exists()
    assert "Counterfactual gap" in (out / "audit.html").read_text(encoding="utf-8")
    done = run_soundstage("audit", "generator", "--loglines", str(lines), "--swap", "ethnicity")
    assert done.returncode != 0 and "not built yet" in done.stderr
