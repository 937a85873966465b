"""`soundstage moderate TEXT | batch | policies | queue …` as a user runs them (subprocesses)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

from cli_runner import run_soundstage

TOXIC = "you are a stupid worthless idiot, shut up"
BENIGN = "What a lovely film, thanks for sharing the trailer"


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    if stdin is None:
        return run_soundstage(*args)
    done = subprocess.run(
        [sys.executable, "-m", "soundstage", *args], input=stdin, capture_output=True, timeout=120
    )
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


def one_line_error(result: subprocess.CompletedProcess[str], match: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error:"), result.stderr
    assert match in result.stderr.splitlines()[0], result.stderr


def test_text_gets_scores_and_a_decision() -> None:
    toxic = json.loads(run("moderate", "--json", TOXIC).stdout)
    benign = json.loads(run("moderate", "check", "--json", BENIGN).stdout)
    assert toxic["decision"] != "allow" and benign["decision"] == "allow"
    assert toxic["scores"]["toxicity"] > 0.5 > benign["scores"]["toxicity"]
    assert set(toxic["scores"]) >= {"toxicity", "insult", "identity_attack", "threat", "S10"}
    assert any(w in s["text"] for s in toxic["spans"] for w in ("stupid", "idiot", "worthless"))
    assert toxic["policy"].startswith("community@") and toxic["model"].startswith("moderation")
    human = run("moderate", TOXIC)
    assert human.returncode == 0 and "toxicity" in human.stdout


def test_evasion_is_undone_and_reported() -> None:
    verdict = json.loads(run("moderate", "--json", "you are a s t u p i d 1d10t").stdout)
    assert verdict["decision"] != "allow"
    assert "spacing" in verdict["changes"] and "leet" in verdict["changes"]


def test_stdin_and_bad_input() -> None:
    assert json.loads(run("moderate", "--json", "-", stdin=TOXIC.encode()).stdout)["scores"]
    one_line_error(run("moderate", "-", stdin=b"ok \xff\xfe bad"), "stdin: not valid UTF-8")
    one_line_error(run("moderate", "-", stdin=b"a" * 1_048_577), "at most 1,048,576")
    empty = json.loads(run("moderate", "--json", "").stdout)
    assert empty["decision"] == "allow" and "empty text" in empty["notes"][0]
    one_line_error(run("moderate", "--policy", "nope", "hi"), "no policy 'nope'")
    one_line_error(run("moderate", "--surface", "radio", "hi"), "has no surface 'radio'")


def test_bad_policy_file_names_file_and_line(tmp_path: Path) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text('name = "x"\nversion = "1"\n[defaults]\nviolence = 0.5\n')
    one_line_error(run("moderate", "--policy", str(policy), "hi"), f"{policy}:4:")


def test_unsupported_language_goes_to_review_without_scores() -> None:
    verdict = json.loads(
        run(
            "moderate", "--json", "Du bist ein Idiot und ich hasse dich, verschwinde endlich"
        ).stdout
    )
    assert verdict["lang"] == "de" and verdict["supported"] is False
    assert verdict["scores"] == {} and verdict["decision"] == "review"


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_batch_adds_a_column_per_category_and_a_decision(tmp_path: Path) -> None:
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    texts = [BENIGN, TOXIC, 'multi\nline, "quoted" and fine', "", "I will kill you tonight"]
    write_csv(source, [{"id": f"c{i}", "body": t} for i, t in enumerate(texts)])
    result = run("moderate", "batch", str(source), "--text-column", "body", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open(newline="", encoding="utf-8")))
    assert [r["body"] for r in rows] == texts  # input kept as it was
    assert {"mod_toxicity", "mod_threat", "mod_S10", "mod_decision", "mod_reason"} <= set(rows[0])
    assert [r["mod_decision"] for r in rows][:2] == ["allow", rows[1]["mod_decision"]]
    assert rows[1]["mod_decision"] != "allow" and "toxicity" in rows[1]["mod_reason"]
    assert rows[4]["mod_decision"] == "block" and float(rows[4]["mod_threat"]) >= 0.9
    assert "5 rows" in result.stdout


def test_batch_bad_input_is_one_line_and_leaves_the_output_alone(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    out.write_text("precious\n")
    source = tmp_path / "in.csv"
    write_csv(source, [{"id": "1", "body": "hello"}])
    args = ("--text-column", "text", "--out", str(out))
    one_line_error(
        run("moderate", "batch", str(source), *args), "no column 'text' for the text column"
    )
    binary = tmp_path / "model.bin"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    one_line_error(run("moderate", "batch", str(binary), *args), "binary file")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"id,text\n1,fine\n2,caf\xe9 latin-1\n")
    one_line_error(run("moderate", "batch", str(bad), *args), f"{bad}:3: not valid UTF-8")
    big = tmp_path / "big.csv"
    big.write_text("id,text\n1,ok\n2," + "a" * 1_048_577 + "\n")
    one_line_error(
        run("moderate", "batch", str(big), *args), f"{big}:3: column text: text is 1,048,577 bytes"
    )
    one_line_error(run("moderate", "batch", str(tmp_path / "none.csv"), *args), "cannot read")
    assert out.read_text() == "precious\n"


def test_policies_lists_builtins() -> None:
    result = run("moderate", "policies")
    assert result.returncode == 0
    for name in ("community@", "kids@", "release@"):
        assert name in result.stdout


def test_queue_flow_from_the_terminal(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    write_csv(source, [{"id": "c1", "body": TOXIC}, {"id": "c2", "body": BENIGN}])
    out = tmp_path / "out.csv"
    result = run(
        "moderate",
        "batch",
        str(source),
        "--text-column",
        "body",
        "--id-column",
        "id",
        "--out",
        str(out),
        "--queue",
    )
    assert "1 queued for review" in result.stdout, result.stderr
    listed = json.loads(run("moderate", "queue", "list", "--json").stdout)
    assert [i["content_id"] for i in listed] == ["c1"]
    item = json.loads(run("moderate", "queue", "claim", "-r", "alice", "--json").stdout)
    assert item["assignee"] == "alice"
    item_id = item["id"]
    one_line_error(
        run("moderate", "queue", "decide", item_id, "allow", "-r", "bob", "--reason", "ok"),
        "assigned to alice",
    )
    decided = run(
        "moderate",
        "queue",
        "decide",
        item_id,
        "block",
        "-r",
        "alice",
        "--reason",
        "Personal attack on another user",
        "--clause",
        "Guidelines §3 No personal attacks",
    )
    assert decided.returncode == 0, decided.stderr
    run("moderate", "queue", "appeal", item_id, "--by", "author", "--reason", "It was a joke")
    assert "nothing to review" in run("moderate", "queue", "claim", "-r", "alice").stdout
    claimed = json.loads(run("moderate", "queue", "claim", "-r", "carol", "--json").stdout)
    assert claimed["id"] == item_id  # …the appeal goes to a second reviewer
    overturned = run(
        "moderate",
        "queue",
        "decide-appeal",
        item_id,
        "allow",
        "-r",
        "carol",
        "--reason",
        "Banter between friends, in context",
        "--json",
    )
    assert json.loads(overturned.stdout)["appeal_outcome"] == "overturned"
    statement = run("moderate", "queue", "statement", item_id)
    assert "automat" in statement.stdout.lower() and "appeal" in statement.stdout.lower()
    history = run("moderate", "queue", "show", item_id).stdout
    for action in ("flagged", "assigned", "decided", "appealed", "appeal_decided"):
        assert action in history


def test_train_without_data_is_one_line(tmp_path: Path) -> None:
    result = run("moderate", "train", "--data", str(tmp_path), "--out", str(tmp_path / "m"))
    assert "training" in result.stderr
    one_line_error(result, "training")
    assert not (tmp_path / "m").exists()
