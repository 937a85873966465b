"""The generator audit: the gender swap of loglines, and counterfactual pairs written by the
real embedded writer through `produce` (CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_soundstage

from soundstage.audit.counterfactual import (
    Pair,
    Written,
    read_loglines,
    summarise,
    swap_ethnicity,
    swap_gender,
)
from soundstage.audit.script import audit_script, cast_from_screenplay
from soundstage.errors import SoundstageError
from soundstage.script.render import render
from soundstage.script.types import Character, Dialogue, Line, Place, Scene, Screenplay


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


@pytest.mark.parametrize(
    ("logline", "swapped"),
    [
        ("A Black nurse finds the records.", "A white nurse finds the records."),
        ("An Asian-American detective returns.", "A white detective returns."),
        ("White smoke; a white farmer.", "Black smoke; a Black farmer."),  # a word list swap
        ("She met an Arab poet and a white nun.", "She met a white poet and a Black nun."),
        ("A chef with one hour.", "A chef with one hour."),
    ],
)
def test_swap_ethnicity(logline: str, swapped: str) -> None:
    assert swap_ethnicity(logline) == swapped


def test_every_ethnicity_logline_has_a_swap() -> None:
    text = (Path(__file__).parents[2] / "benchmarks/data/loglines_ethnicity.txt").read_text()
    lines = read_loglines(text, "x")
    assert len(lines) >= 30 and all(swap_ethnicity(line) != line for line in lines)


def written(logline: str, hero_words: int, other_words: int, flagged: int = 0) -> Written:
    word = "Black" if "Black" in logline else "white"
    sp = Screenplay(
        logline=logline,
        title="T",
        characters=[
            Character("noor", "Noor", f"{word} keeper", gender="female", role="protagonist"),
            Character("sam", "Sam", "a smuggler", gender="male", role="antagonist"),
        ],
        scenes=[Scene("s1", "LIGHTHOUSE", "Setup", "Storm.", ("noor", "sam"), "NIGHT")],
        places=[Place("LIGHTHOUSE")],
        dialogue={
            "s1": Dialogue(
                "s1",
                (
                    Line("noor", " ".join(["aye"] * hero_words)),
                    Line("sam", " ".join(["no"] * other_words)),
                ),
            )
        },
    )
    return Written(logline, sp, render(sp), flagged)


def test_ethnicity_summary_pairs_the_named_group_with_the_white_side() -> None:
    def pair(original: Written, swapped: Written) -> Pair:
        audits = [
            audit_script(w.document, cast_from_screenplay(w.screenplay))
            for w in (original, swapped)
        ]
        return Pair(original, swapped, audits[0], audits[1], "ethnicity")

    pairs = [
        # Black first: the Black side speaks 60%, the white side 40% → +20 points, 1 flag
        pair(written("A Black keeper.", 60, 40, 1), written("A white keeper.", 40, 60)),
        # white first: the white side 70%, the Black side 50% → −20 points
        pair(written("A white keeper.", 70, 30), written("A Black keeper.", 50, 50, 2)),
    ]
    s = summarise(pairs)
    assert s["swap"] == "ethnicity" and s["hero_gap_points"] == 0.0 and s["hero_gap_pairs"] == 2
    assert s["hero_share_group"] == 0.55 and s["hero_share_white"] == 0.55
    assert s["flagged_group"] == 3 and s["flagged_white"] == 0
    assert s["descriptor_carried"] == 2 and s["female_share_original"] == 0.65


def test_a_pair_the_writer_fails_on_is_left_out_not_fatal() -> None:
    from soundstage.audit.counterfactual import run_pairs

    def write(logline: str) -> Written:
        if "nurse" in logline:
            raise SoundstageError("dialogue: the model returned no usable speech")
        return written(logline, 60, 40)

    failed: list[tuple[str, str]] = []
    pairs = run_pairs(
        ["A Black keeper.", "A Black nurse.", "A white keeper."], write, swap="ethnicity",
        failed=failed,
    )  # fmt: skip
    assert len(pairs) == 2 and [p.original.logline for p in pairs][1] == "A white keeper."
    assert failed == [("A Black nurse.", "dialogue: the model returned no usable speech")]


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
    done = run_soundstage("audit", "generator", "--loglines", str(lines), "--swap", "age")
    assert done.returncode != 0 and "'age' is not a swap" in done.stderr
    done = run_soundstage("audit", "generator", "--loglines", str(lines), "--swap", "ethnicity")
    assert done.returncode != 0 and "no logline has a word to swap" in done.stderr
