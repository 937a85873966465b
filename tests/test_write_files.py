"""`soundstage write convert` and `write eval` as a user runs them: real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cli_runner import run_soundstage

from soundstage.script.formats.elements import Document, Kind
from soundstage.script.formats.fdx import read_fdx
from soundstage.script.formats.fountain import read_fountain

SCRIPT = """\
Title: The Last Reel
Credit: Written by
Author: Test Writer
Draft date: 2026-01-02

INT. PROJECTION BOOTH - NIGHT

Dust hangs in the beam. MARA threads a reel.

MARA
(to herself)
Where is reel *six*?

TOMAS (O.S.)
Check the can.

MARA ^
I did.

EXT. CINEMA ROOF - NIGHT

Wind. TOMAS holds the missing reel over the edge.

TOMAS
Looking for this?

CUT TO:

>THE END<
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_soundstage("write", *args, timeout=120)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "in" / "reel.fountain"
    path.parent.mkdir()
    path.write_text(SCRIPT, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("prod") / "out"
    result = subprocess.run(
        [sys.executable, "-m", "soundstage", "produce", "A keeper hunts a smuggler."]
        + ["--out", str(out), "--minutes", "1", "--seed", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return out


def test_write_lists_convert_and_eval() -> None:
    result = run("--help")
    assert result.returncode == 0 and "convert" in result.stdout and "eval" in result.stdout


def test_fountain_to_fdx_and_back_is_the_same_script(script: Path, tmp_path: Path) -> None:
    fdx = tmp_path / "out" / "reel.fdx"
    first = run("convert", str(script), "--to", "fdx", "--out", str(fdx))
    assert first.returncode == 0, first.stderr
    back = tmp_path / "out" / "back.fountain"
    second = run("convert", str(fdx), "--out", str(back))  # --to from the suffix
    assert second.returncode == 0, second.stderr
    original = read_fountain(script)
    assert read_fdx(fdx).elements == original.elements
    again = read_fountain(back)
    assert again == original and again.count(Kind.CHARACTER) == 4
    assert [e.text for e in again.elements if e.dual] == ["MARA"]  # survived both trips
    # a single-file conversion writes just that file: no manifest, no temp files
    assert sorted(p.name for p in fdx.parent.iterdir()) == ["back.fountain", "reel.fdx"]


def test_fountain_to_json_and_back(script: Path, tmp_path: Path) -> None:
    data = tmp_path / "reel.json"
    assert run("convert", str(script), "--out", str(data)).returncode == 0
    doc = Document.from_json(json.loads(data.read_text()))
    assert doc == read_fountain(script)
    back = tmp_path / "back.fountain"
    assert run("convert", str(data), "--to", "fountain", "--out", str(back)).returncode == 0
    assert back.read_text() == script.read_text()


def test_fountain_to_pdf_is_readable(script: Path, tmp_path: Path) -> None:
    import pypdf

    plain, labelled = tmp_path / "plain.pdf", tmp_path / "labelled.pdf"
    assert run("convert", str(script), "--out", str(plain)).returncode == 0
    notice = "Co-written with an AI system"
    result = run("convert", str(script), "--out", str(labelled), "--disclose", notice)
    assert result.returncode == 0, result.stderr
    reader = pypdf.PdfReader(plain)
    assert len(reader.pages) == 2  # title page, then the script
    title = reader.pages[0].extract_text()
    assert "The Last Reel" in title and "Test Writer" in title and notice not in title
    body = reader.pages[1].extract_text()
    assert "INT. PROJECTION BOOTH - NIGHT" in body and "Looking for this?" in body
    assert notice in pypdf.PdfReader(labelled).pages[0].extract_text()


def test_screenplay_json_from_produce_becomes_fountain(produced: Path, tmp_path: Path) -> None:
    out = tmp_path / "from_json.fountain"
    result = run("convert", str(produced / "screenplay.json"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    ours = read_fountain(out)
    theirs = read_fountain(produced / "screenplay.fountain")
    assert ours.elements == theirs.elements and ours.count(Kind.DIALOGUE) > 0
    # produce stamps today's date on its title page; a conversion adds nothing
    assert [kv for kv in theirs.title_page if kv[0] != "Draft date"] == ours.title_page


def test_eval_json_of_a_produced_screenplay(produced: Path) -> None:
    result = run("eval", str(produced / "screenplay.json"), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["file"].endswith("screenplay.json")
    assert data["valid"] is True and data["format"]["round_trip"] is True
    assert data["format"]["orphan_cues"] == 0 and data["format"]["nonstandard_headings"] == 0
    assert 0.5 < data["minutes"] < 3
    assert data["loops"]["loops"] == 0
    assert 0 < data["diversity_equal"]["distinct_2"] <= 1
    assert data["diversity_equal"]["tokens"] == data["diversity"]["tokens"] > 0
    cons = data["consistency"]
    assert cons["consistent_share"] == 1.0 and cons["undeclared_speakers"] == []
    assert cons["checked_speeches"] == cons["speeches"] == sum(cons["speakers"].values())


def test_eval_of_fountain_prints_a_table_or_json(script: Path) -> None:
    table = run("eval", str(script))
    assert table.returncode == 0, table.stderr
    assert "valid" in table.stdout and "distinct-2" in table.stdout
    data = json.loads(run("eval", str(script), "--json").stdout)
    assert data["consistency"]["speakers"] == {"TOMAS": 2, "MARA": 2}
    assert data["consistency"]["cues_with_extensions"] == 1
    assert data["consistency"]["checked_speeches"] is None  # no Screenplay to check against


BAD_INPUTS = {
    "missing.fountain": None,
    "notes.txt": "INT. HOUSE - DAY\n",
    "unclosed.fountain": "Title: X\n\nINT. A - DAY\n\n/* never closed\n",
    "utf16.fountain": "\ufeffINT. A - DAY\n".encode("utf-16"),
    "broken.fdx": '<FinalDraft><Content>\n<Paragraph Type="Action"><Text>x</Text>\n</Content>',
    "html.fdx": "<html><body/></html>",
    "syntax.json": '{\n  "elements": [,]\n}',
    "list.json": "[1, 2, 3]",
    "other.json": '{"name": "not a script"}',
    "badkind.json": '{"elements": [{"kind": "montage", "text": "x"}]}',
    "badtext.json": '{"elements": [{"kind": "action", "text": 5}]}',
    "unknown_speaker.json": json.dumps(
        {
            "title": "X",
            "characters": [{"id": "ann", "name": "Ann"}],
            "scenes": [{"id": "s1", "place": "P", "plot_element": "", "beat": ""}],
            "dialogue": {"s1": {"scene_id": "s1", "lines": [{"speaker": "zed", "text": "Hi"}]}},
        }
    ),
    "badscene.json": '{"title": "X", "scenes": [{"id": "s1"}]}',
    "listspeaker.json": json.dumps(
        {
            "title": "X",
            "dialogue": {"s9": {"scene_id": "s9", "lines": [{"speaker": ["a"], "text": "Hi"}]}},
        }
    ),
}
WHY = {
    "missing.fountain": "no such file",
    "notes.txt": "unknown script format",
    "unclosed.fountain": "unclosed.fountain:5: unclosed boneyard",
    "utf16.fountain": "UTF-16",
    "broken.fdx": "broken.fdx:3: not well-formed XML",
    "html.fdx": "not a Final Draft file",
    "syntax.json": "syntax.json:2: not valid JSON",
    "list.json": "expected a JSON object",
    "other.json": "neither a Document nor a Screenplay JSON",
    "badkind.json": "not a Document JSON",
    "badtext.json": "text must be a string",
    "unknown_speaker.json": "unknown character id 'zed'",
    "badscene.json": "not a Screenplay JSON",
    "listspeaker.json": "dialogue 's9' must be text",
}


BAD_OPTIONS = {
    "no-format": (["--out", "script.docx"], "cannot tell the output format"),
    "unknown-to": (["--to", "docx", "--out", "x.fdx"], "unknown --to 'docx'"),
    "to-vs-suffix": (["--to", "pdf", "--out", "x.fdx"], "--to pdf but 'x.fdx' ends in .fdx"),
    "disclose-fdx": (["--out", "x.fdx", "--disclose", "AI"], "--disclose only applies to --to pdf"),
    "out-is-folder": (["--to", "fdx", "--out", "."], "is a folder"),
}


EVAL_TOO = ("missing.fountain", "broken.fdx", "syntax.json", "listspeaker.json")


@pytest.fixture(scope="module")
def failed_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    """Every refused command, run a few at a time, each in its own folder with OUT "OLD".

    Every bad file goes through `convert` (OUT `kept.fdx`), some through `eval` too; bad
    options through `convert` of a good script, inside the folder so relative OUTs land there.
    """
    cases: dict[str, tuple[Path, list[str]]] = {}
    for name, content in BAD_INPUTS.items():
        for command in ("convert", "eval") if name in EVAL_TOO else ("convert",):
            folder = tmp_path_factory.mktemp("bad")
            source = folder / name
            if isinstance(content, str):
                source.write_text(content, encoding="utf-8")
            elif content is not None:
                source.write_bytes(content)
            extra = ["--out", "kept.fdx"] if command == "convert" else []
            cases[f"{command}:{name}"] = (folder, [command, name, *extra])
    for key, (options, _) in BAD_OPTIONS.items():
        folder = tmp_path_factory.mktemp("opt")
        (folder / "reel.fountain").write_text(SCRIPT, encoding="utf-8")
        cases[f"options:{key}"] = (folder, ["convert", "reel.fountain", *options])
    for folder, _ in cases.values():
        (folder / "kept.fdx").write_text("OLD")

    def one(folder: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "soundstage", "write", *args]
        return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {
            key: (folder, pool.submit(one, folder, args)) for key, (folder, args) in cases.items()
        }
        return {key: (folder, future.result()) for key, (folder, future) in futures.items()}


def check_refused(
    folder: Path, result: subprocess.CompletedProcess[str], why: str, files: set[str]
) -> None:
    assert result.returncode != 0
    first, *rest = result.stderr.strip().splitlines()
    assert first.startswith("error: ") and why in first, result.stderr
    assert all(line.startswith("  hint: ") for line in rest), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert (folder / "kept.fdx").read_text() == "OLD"  # OUT untouched
    assert {p.name for p in folder.iterdir()} == files  # nothing else written, no temp files


@pytest.mark.parametrize(
    "case",
    [f"convert:{name}" for name in BAD_INPUTS] + [f"eval:{name}" for name in EVAL_TOO],
)
def test_bad_input_is_one_line_and_leaves_out_untouched(
    case: str, failed_runs: dict[str, tuple[Path, subprocess.CompletedProcess[str]]]
) -> None:
    folder, result = failed_runs[case]
    name = case.partition(":")[2]
    files = {"kept.fdx"} | ({name} if BAD_INPUTS[name] is not None else set())
    check_refused(folder, result, WHY[name], files)


@pytest.mark.parametrize("key", list(BAD_OPTIONS))
def test_bad_options_are_refused_before_writing(
    key: str, failed_runs: dict[str, tuple[Path, subprocess.CompletedProcess[str]]]
) -> None:
    folder, result = failed_runs[f"options:{key}"]
    check_refused(folder, result, BAD_OPTIONS[key][1], {"kept.fdx", "reel.fountain"})
