"""The corpus audit: hand counts over three tiny scripts, and the Pudding's figures
reproduced within 0.5 points over a synthetic set built to their distribution (issue #16)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from cli_runner import run_soundstage

from soundstage.audit.corpus import audit_corpus, film_share
from soundstage.audit.script import audit_script
from soundstage.audit.types import Person
from soundstage.script.formats.fountain_read import parse_fountain

BENCH = Path(__file__).parents[2] / "benchmarks" / "audit_pudding.py"


def script(*speeches: tuple[str, int]) -> str:
    lines = ["INT. HALL - DAY", ""]
    for cue, words in speeches:
        lines += [cue, " ".join(["word"] * words), ""]
    return "\n".join(lines)


CAST = [
    Person("Ada", "ADA", "female", 30),
    Person("Bea", "BEA", "female", 45),
    Person("Cal", "CAL", "male", 55),
    Person("Dan", "DAN", "male", 25),
]


def audit(text: str, title: str) -> object:
    return audit_script(parse_fountain(text), CAST, title=title)


def test_hand_counts_over_three_scripts() -> None:
    one = audit(script(("ADA", 300), ("CAL", 100), ("BEA", 99)), "one")  # Bea under the cut-off
    two = audit(script(("CAL", 200), ("DAN", 150), ("ADA", 50), ("ZED", 400)), "two")  # Zed: ?
    three = audit(script(("BEA", 120), ("ADA", 120), ("DAN", 60), ("CAL", 120)), "three")
    corpus = audit_corpus([one, two, three])  # type: ignore[list-item]
    assert film_share(one).female_share == 0.75  # type: ignore[arg-type]
    assert film_share(two).female_share == 0.0 and film_share(two).other_words == 400  # type: ignore[arg-type]
    # three: women 240 of 360 → 2/3
    assert corpus.female_share_of_words == round((300 + 240) / (300 + 100 + 350 + 360), 4)
    assert corpus.median_film_female_share == 0.6667
    assert corpus.films_men_over_50 == round(1 / 3, 4) and corpus.films_men_90_or_more == 0.3333
    assert corpus.films_women_60_or_more == 0.6667 and corpus.films_balanced_40_60 == 0.0
    # leads: ADA (300), ZED is undeclared (400) so "unknown", BEA (120, first to speak)
    assert [f.lead_gender for f in corpus.films] == ["female", "unknown", "female"]
    assert corpus.female_lead == 0.6667
    # ≥ 100-word women: Ada, Ada, Bea / men: Cal, Cal, Dan, Cal
    assert corpus.female_share_of_characters == round(3 / 7, 4)
    # women's words: Ada (30 → 21-30) 300 + 120, Bea (45) 120
    assert corpus.words_by_age["female"] == {"21-30": round(420 / 540, 4), "41-50": 0.2222}


def test_pudding_figures_within_half_a_point_on_a_synthetic_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = importlib.util.spec_from_file_location("audit_pudding", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "audit_pudding", bench)  # dataclasses look it up
    spec.loader.exec_module(bench)
    bench.build(200, tmp_path / "films")
    done = run_soundstage("audit", "corpus", str(tmp_path / "films"), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["scripts"] == 200 and data["other_words"] == 20 * 150  # NARRATOR in 1 of 10
    rows = bench.compare(data["figures"])
    assert len(rows) == 13
    worst = max(rows, key=lambda r: abs(r[1] - r[2]))
    assert abs(worst[1] - worst[2]) <= 0.5, worst


def test_corpus_errors(tmp_path: Path) -> None:
    done = run_soundstage("audit", "corpus", str(tmp_path / "none"))
    assert done.returncode != 0 and "not a folder" in done.stderr
    done = run_soundstage("audit", "corpus", str(tmp_path))
    assert done.returncode != 0 and "no scripts in the folder" in done.stderr
    (tmp_path / "a.fountain").write_text(script(("ADA", 120)), encoding="utf-8")
    (tmp_path / "a.cast.csv").write_text("name,gender,age\nAda,female,x\n", encoding="utf-8")
    done = run_soundstage("audit", "corpus", str(tmp_path))
    assert done.returncode != 0 and "a.cast.csv:2: age 'x'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="no Chromium for --pdf")
def test_pdf_is_the_report_printed(tmp_path: Path) -> None:
    from pypdf import PdfReader

    folder = tmp_path / "scripts"
    folder.mkdir()
    for name, speeches in (("a", (("ADA", 150), ("CAL", 100))), ("b", (("DAN", 300),))):
        (folder / f"{name}.fountain").write_text(script(*speeches), encoding="utf-8")
        (folder / f"{name}.cast.csv").write_text(
            "name,gender\nAda,female\nCal,male\nDan,male\n", encoding="utf-8"
        )
    done = run_soundstage("audit", "corpus", str(folder), "--out", str(tmp_path / "r"), "--pdf")
    assert done.returncode == 0, done.stderr
    text = " ".join(page.extract_text() for page in PdfReader(tmp_path / "r" / "audit.pdf").pages)
    assert "Representation across 2 scripts" in text and "women speak 27.3%" in text  # 150 of 550
    done = run_soundstage("audit", "corpus", str(folder), "--pdf")
    assert done.returncode != 0 and "add --out DIR" in done.stderr
