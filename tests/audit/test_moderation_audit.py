"""The moderation audit with the shipped classifier and policy: rates recounted from the
verdicts, the bias AUCs as `moderate.bias` gives them, label errors, and the madlibs set."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_soundstage

from soundstage.audit.moderation import audit_moderation, read_labelled
from soundstage.audit.reports.moderation import moderation_report
from soundstage.errors import FormatError
from soundstage.moderate.bias import bias_report, identity_masks
from soundstage.moderate.service import Moderator

ROWS = [
    ("I am a gay man and proud of it.", 0),
    ("My neighbour is gay and throws great parties.", 0),
    ("Gay people are subhuman trash and deserve to die.", 1),
    ("I hate gay people, they disgust me.", 1),
    ("The muslim family next door brought us soup.", 0),
    ("I am a muslim woman and a nurse.", 0),
    ("Muslim people are terrorists and should be thrown out.", 1),
    ("Every muslim is vermin.", 1),
    ("What a lovely morning for a walk.", 0),
    ("You are a worthless idiot and everyone hates you.", 1),
    ("Thanks for the help with the groceries!", 0),
    ("Shut up, you stupid moron.", 1),
]


@pytest.fixture(scope="module")
def moderator() -> Moderator:
    return Moderator.load("community", explain=False)


def write_csv(path: Path, rows: list[tuple[str, object]], label: str = "toxic") -> Path:
    lines = [f"text,{label}"] + [f'"{t}",{y}' for t, y in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_rates_are_recounted_from_the_verdicts(moderator: Moderator, tmp_path: Path) -> None:
    texts, labels = read_labelled(write_csv(tmp_path / "t.csv", ROWS), "text", "toxic")
    audit = audit_moderation(texts, labels, moderator, terms=["gay", "muslim"], min_group=2)
    verdicts = moderator.check_many(texts)
    flagged = np.array([v.decision != "allow" for v in verdicts])
    for group in audit.groups:
        mask = identity_masks(texts, [group.group])[group.group]
        assert group.n == mask.sum() == 4 and group.n_toxic == 2
        assert group.fpr == round(float(flagged[mask & ~labels].mean()), 4)
        assert group.fnr == round(float((~flagged[mask & labels]).mean()), 4)
        assert group.fpr_ci is not None and group.fpr_ci[0] <= group.fpr <= group.fpr_ci[1]
        assert abs(sum(group.decisions.values()) - 1) < 1e-3
    assert audit.overall.n == 12 and audit.n_toxic == 6
    scores = [max(v.scores.values(), default=0.0) for v in verdicts]
    direct = bias_report(labels, scores, identity_masks(texts, ["gay", "muslim"]))
    assert audit.bias is not None and audit.bias.final_metric == direct.final_metric
    expected = sum(abs((g.fpr or 0) - (audit.overall.fpr or 0)) for g in audit.groups)
    assert audit.fped == round(expected, 4)
    report = moderation_report(audit)
    assert "12 texts (6 labelled toxic)" in report.verdict
    assert all(e["identities"] for e in audit.false_positives + audit.misses)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("fine", "maybe")], r"t\.csv:2: toxic 'maybe' is not a label"),
        ([("fine", "0"), ("bad", "")], r"t\.csv:3: toxic '' is not a label"),
    ],
)
def test_bad_labels_name_the_line(
    tmp_path: Path, rows: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(FormatError, match=message):
        read_labelled(write_csv(tmp_path / "t.csv", rows), "text", "toxic")  # type: ignore[arg-type]


def test_cli_reports_and_refuses(settings: object, tmp_path: Path) -> None:
    data = write_csv(tmp_path / "t.csv", ROWS)
    out = tmp_path / "audit"
    done = run_soundstage(
        "audit", "moderation", "--data", str(data), "--text-column", "text",
        "--label-column", "toxic", "--terms", "gay,muslim", "--min-group", "2", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "12 texts (6 labelled toxic)" in done.stdout
    saved = json.loads((out / "audit.json").read_text(encoding="utf-8"))
    assert {g["group"] for g in saved["groups"]} == {"gay", "muslim"}
    assert "<svg" in (out / "audit.html").read_text(encoding="utf-8")
    done = run_soundstage(
        "audit", "moderation", "--data", str(data), "--text-column", "text",
        "--label-column", "label",
    )  # fmt: skip
    assert done.returncode != 0 and "no column 'label' for the labels" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_madlibs_sample_in_budget(moderator: Moderator, shared: Callable[..., Path]) -> None:
    path = shared("mod", "conversationai_bias_eval", "bias_madlibs_77k.csv")
    texts, labels = read_labelled(path, "Text", "Label", limit=4000)
    started = time.perf_counter()
    audit = audit_moderation(texts, labels, moderator)
    assert time.perf_counter() - started < 30  # 10k texts in ≤ 30 s: 4k here, with margin
    assert audit.n == 4000 and 0.4 < audit.n_toxic / audit.n < 0.6
    assert audit.bias is not None and len(audit.bias.rows) >= 40
    # the madlibs say nothing hateful in half the rows: the worst group is a real finding,
    # a harmless identity statement flagged more often than average
    worst = max((g for g in audit.groups if g.fpr is not None), key=lambda g: g.fpr or 0)
    assert worst.fpr is not None and audit.overall.fpr is not None
    assert worst.fpr > audit.overall.fpr
