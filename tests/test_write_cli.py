"""`soundstage write …` as a writer uses it: real subprocesses, a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "soundstage", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=300,
        env={**os.environ, "COLUMNS": "200", "SOUNDSTAGE_AUTHOR": "sam"},
    )


def test_new_step_edit_history_export(tmp_path: Path) -> None:
    new = run(
        "write", "new", "A keeper discovers a smuggler has stolen the lens.", "--minutes", "1"
    )
    assert new.returncode == 0, new.stderr
    pid = new.stdout.strip()
    step = run("write", "step", pid)
    assert step.returncode == 0 and "next level: characters" in step.stdout
    assert run("write", "step", pid, "--all").returncode == 0
    shown = run("write", "show", pid, "scenes", "s1")
    assert shown.returncode == 0 and shown.stdout.startswith("Id: s1\nPlace: ")
    edited = run(
        "write",
        "edit",
        pid,
        "scenes",
        "s1",
        "--file",
        "-",
        stdin=shown.stdout.replace("Beat: ", "Beat: At dawn, "),
    )
    assert edited.returncode == 0 and "stale" in edited.stdout and "dialogue:s1" in edited.stdout
    bad = run("write", "edit", pid, "scenes", "s1", "--text", "Place: X\nBeat: y\nCharacters: Zed")
    assert bad.returncode == 2 and "scenes:s1:1: unknown character 'Zed'" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert run("write", "regen", pid, "--stale").returncode == 0
    history = run("write", "history", pid)
    assert "human:sam" in history.stdout and "regenerate" in history.stdout
    out = tmp_path / "pkg"
    assert run("write", "export", pid, "--out", str(out)).returncode == 0
    sp = json.loads((out / "screenplay.json").read_text())
    assert sp["scenes"][0]["beat"].startswith("At dawn, ")
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert {"edit", "regenerate", "generate"} <= {e["op"] for e in log}
    assert "| scenes |" in (out / "report.md").read_text()


def test_unknown_project_and_level_are_one_line_errors() -> None:
    for args, needle in [
        (["write", "show", "nosuchproject"], "no project 'nosuchproject'"),
        (["write", "regen", "nosuchproject", "plot"], "unknown level 'plot'"),
        (["write", "new", "", "--minutes", "1"], "logline is empty"),
    ]:
        out = run(*args)
        assert out.returncode != 0 and needle in out.stderr and "Traceback" not in out.stderr


def test_new_from_a_scene_keeps_it_and_bad_scenes_are_one_line_errors(tmp_path: Path) -> None:
    scene = tmp_path / "lamp.fountain"
    scene.write_text("INT. LAMP ROOM - NIGHT\n\nMARGARET\nSomeone took it.\n\nTOM\nTook what?\n")
    logline = "A keeper discovers a smuggler has stolen the lens."
    new = run("write", "new", logline, "--minutes", "3", "--scene", str(scene), "--at", "2")
    assert new.returncode == 0, new.stderr
    pid = new.stdout.strip()
    shown = run("write", "show", pid, "dialogue", "s2")
    assert "MARGARET" in shown.stdout.upper() and "Someone took it." in shown.stdout
    history = run("write", "history", pid)
    assert history.stdout.count("human:sam") >= 4  # logline, characters, scene, dialogue
    prose = tmp_path / "prose.fountain"
    prose.write_text("Once upon a time there was a lighthouse.\n")
    bad = run("write", "new", logline, "--scene", str(prose))
    assert bad.returncode != 0 and f"{prose}: no scene heading" in bad.stderr
    late = run("write", "new", logline, "--minutes", "1", "--scene", str(scene), "--at", "7")
    assert late.returncode != 0 and "scene 7 of a 1-minute script" in late.stderr
    for result in (bad, late):
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) <= 2
