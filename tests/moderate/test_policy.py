"""Policies: built-ins load, decisions follow thresholds, bad files fail with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from soundstage.errors import FormatError, SoundstageError
from soundstage.moderate.policy import builtin_policies, decide, load_policy

GOOD = """\
name = "test"
version = "1"

[defaults]
toxicity = { review = 0.5, block = 0.9, clause = "§1" }
threat = 0.3

[surfaces.kids]
toxicity = { review = 0.1, block = 0.4 }
"""


def write(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_builtins_load_and_have_distinct_ids() -> None:
    names = builtin_policies()
    assert {"community", "kids", "release"} <= set(names)
    ids = {load_policy(n).id for n in names}
    assert len(ids) == len(names)


def test_decision_is_the_strictest_crossed_threshold(tmp_path: Path) -> None:
    p = load_policy(write(tmp_path, GOOD))
    assert decide(p, {"toxicity": 0.2, "threat": 0.1})[0] == "allow"
    assert decide(p, {"toxicity": 0.5})[0] == "review"  # at the threshold counts
    decision, hits = decide(p, {"toxicity": 0.95, "threat": 0.35})
    assert decision == "block"
    assert [(h.category, h.outcome, h.clause) for h in hits] == [
        ("toxicity", "block", "§1"),
        ("threat", "review", "Threat policy"),
    ]


def test_surface_overrides_defaults_and_unknown_surface_fails(tmp_path: Path) -> None:
    p = load_policy(write(tmp_path, GOOD))
    assert decide(p, {"toxicity": 0.45}, "kids")[0] == "block"
    assert decide(p, {"toxicity": 0.45})[0] == "allow"
    assert decide(p, {"threat": 0.3}, "kids")[0] == "review"  # inherited from defaults
    with pytest.raises(SoundstageError, match="no surface 'chat'"):
        decide(p, {}, "chat")


def test_unsupported_language_uses_the_policy_outcome(tmp_path: Path) -> None:
    p = load_policy(write(tmp_path, 'unsupported_language = "block"\n' + GOOD))
    assert decide(p, {}, supported=False)[0] == "block"
    assert decide(load_policy(write(tmp_path, GOOD)), {}, supported=False)[0] == "review"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (GOOD.replace("threat = 0.3", "violence = 0.3"), 6, "unknown category 'violence'"),
        (GOOD.replace("review = 0.5, block", "review = 1.5, block"), 5, "must be in 0..1"),
        (GOOD.replace("review = 0.1, block = 0.4", "review = 0.5, block = 0.4"), 9, "above block"),
        (GOOD.replace('version = "1"', 'versoin = "1"'), 2, "unknown key 'versoin'"),
        (GOOD.replace("threat = 0.3", "threat = true"), 6, "must be"),
        (GOOD.replace("[defaults]", "[defaults"), 4, "not valid TOML"),
    ],
)
def test_bad_policy_files_name_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(FormatError, match=message) as info:
        load_policy(path)
    assert info.value.message.startswith(f"{path}:{line}:")


def test_missing_and_empty_policy_files(tmp_path: Path) -> None:
    with pytest.raises(SoundstageError, match="not a built-in name"):
        load_policy("no-such-policy")
    with pytest.raises(FormatError, match="needs a `name` and a `version`"):
        load_policy(write(tmp_path, "", "empty.toml"))


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bin.toml"
    path.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(FormatError, match="not UTF-8"):
        load_policy(path)


def test_yaml_policy_matches_toml(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    text = "name: test\nversion: '1'\ndefaults:\n  toxicity: {review: 0.5, block: 0.9}\n"
    p = load_policy(write(tmp_path, text, "p.yaml"))
    assert decide(p, {"toxicity": 0.7})[0] == "review"
    bad = write(tmp_path, text.replace("toxicity", "toxcity"), "bad.yml")
    with pytest.raises(FormatError, match="bad.yml:4: .*unknown category"):
        load_policy(bad)
