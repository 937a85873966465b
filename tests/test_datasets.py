"""The data and model registry: files, the training rule, opt-outs, trainers' refusals, the CLI."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import run_soundstage

from soundstage.datasets import (
    DatasetError,
    RegistryError,
    TrainingRefused,
    UnknownDataset,
    cards_citing,
    check_path_use,
    check_training_use,
    get_entry,
    load_registry,
    read_optouts,
    record_optout,
    verdict,
    withdraw_optout,
)
from soundstage.datasets.registry import FIELDS, MODELS_DIR, REGISTRY_DIR, parse_entry
from soundstage.settings import Settings

# Not imported from conftest: `conftest` names more than one module (tests/studio, tests/web).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# --- the files --------------------------------------------------------------------------------


def test_every_registry_file_parses_with_the_required_fields() -> None:
    files = sorted(REGISTRY_DIR.glob("*.toml"))
    assert len(files) == len(load_registry()) >= 19
    for path in files:
        entry = parse_entry(path)
        assert entry.id == path.stem
        for name in ("title", "source", "licence", "licence_url", "licence_note", "unit"):
            assert getattr(entry, name).strip(), f"{path.name}: {name} is empty"
        assert entry.commit or entry.version, f"{path.name}: neither commit nor version"
        assert entry.rows >= 1, path.name
        assert entry.licence_url.startswith("http"), path.name


def test_a_broken_file_is_refused_naming_file_and_field(tmp_path: Path) -> None:
    good = (REGISTRY_DIR / "olid.toml").read_text()
    missing = tmp_path / "olid.toml"
    missing.write_text(good.replace('licence = "CC-BY-4.0"\n', ""))
    with pytest.raises(RegistryError, match=r"olid\.toml: missing field\(s\) licence"):
        parse_entry(missing)
    unknown = tmp_path / "x.toml"
    unknown.write_text(good.replace('id = "olid"', 'id = "x"').replace('"CC-BY-4.0"', '"unknown"'))
    with pytest.raises(RegistryError, match="unknown licence cannot allow training"):
        parse_entry(unknown)
    assert set(FIELDS) >= {"licence", "rows", "models", "permissions", "optout", "commit"}


def test_every_shared_data_folder_has_an_entry() -> None:
    if not SHARED_DATA.exists():
        pytest.skip(f"shared data not present: {SHARED_DATA}")
    folders = {f"{d.parent.name}/{d.name}" for d in SHARED_DATA.glob("*/*") if d.is_dir()}
    registered = {e.folder for e in load_registry().values() if e.folder}
    assert folders - registered == set(), "datasets in ../shared/data without a registry file"
    assert registered - folders == set(), "registry folders that ../shared/data lacks"


def test_model_cards_link_to_the_entries_of_their_training_data() -> None:
    cards = {p.parent.name: p.read_text() for p in MODELS_DIR.glob("*/MODEL_CARD.md")}
    assert len(cards) >= 5
    for name, text in cards.items():
        assert "Training data" in text, name
        assert "soundstage data show " in text, name
    for entry in load_registry().values():
        for model in entry.models:
            if model in cards:
                assert model in cards_citing(entry.id), f"{model}'s card omits {entry.id}"


def test_aliases_and_unknown_names() -> None:
    assert get_entry("oneills1850").id == "music21_corpus"
    assert get_entry("hamlet").id == "bosak_shakespeare"
    with pytest.raises(UnknownDataset, match="did you mean 'olid'"):
        get_entry("olidd")


# --- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dataset", "research", "ship", "why"),
    [
        ("tinyshakespeare", True, True, "allows shipped weights"),
        ("olid", True, True, "with attribution"),
        ("ml-100k", True, False, "does not allow commercial use"),
        ("music21_essenfolksong", True, False, "does not allow commercial use"),
        ("nottingham", True, False, "share-alike/copyleft"),
        ("stormfront", True, False, "share-alike/copyleft"),
    ],
)
def test_the_training_rule(dataset: str, research: bool, ship: bool, why: str) -> None:
    entry = get_entry(dataset)
    assert verdict(entry, None, "research").allowed is research
    shipped = verdict(entry, None, "ship")
    assert shipped.allowed is ship
    assert why in shipped.reason


def test_an_unknown_licence_is_never_allowed() -> None:
    entry = get_entry("olid")
    perms = dataclasses.replace(entry.permissions, training=False)
    unknown = dataclasses.replace(entry, licence="unknown", permissions=perms)
    for purpose in ("research", "ship"):
        result = verdict(unknown, None, purpose)  # type: ignore[arg-type]
        assert not result.allowed and "licence unknown" in result.reason


# --- opt-outs ---------------------------------------------------------------------------------


def test_optout_refuses_every_purpose_and_withdraw_restores(settings: Settings) -> None:
    check_training_use("olid", settings)
    record_optout(settings, "olid", "authors asked", by="alice")
    for purpose in ("research", "ship"):
        with pytest.raises(TrainingRefused) as caught:
            check_training_use("olid", settings, purpose=purpose)  # type: ignore[arg-type]
        message = str(caught.value)
        assert "'olid'" in message and "by alice: authors asked" in message
        assert "opted out on 20" in message and "\n" not in message
    withdraw_optout(settings, "olid", by="bob")
    assert read_optouts(settings) == {}
    check_training_use("olid", settings)
    saved = json.loads((settings.data_dir / "datasets" / "optouts.json").read_text())
    assert [h["action"] for h in saved["history"]] == ["optout", "withdraw"]


def test_optout_needs_a_reason_and_a_readable_file(settings: Settings) -> None:
    with pytest.raises(DatasetError, match="needs a reason"):
        record_optout(settings, "olid", "  ")
    path = settings.data_dir / "datasets" / "optouts.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(DatasetError, match="cannot read opt-outs"):
        read_optouts(settings)


# --- trainers refuse --------------------------------------------------------------------------


def _tiny_script_dir(root: Path) -> Path:
    play = root / "script" / "tinyshakespeare"
    play.mkdir(parents=True)
    turns = [f"ROMEO:\nLine {i} of a short play, said twice.\n" for i in range(60)]
    (play / "input.txt").write_text("\n".join(turns))
    return root / "script"


def test_lm_prepare_refuses_an_opted_out_source(settings: Settings, tmp_path: Path) -> None:
    from soundstage.lm.prepare import prepare

    script_dir = _tiny_script_dir(tmp_path)
    assert prepare(script_dir, tmp_path / "ok", vocab_size=300)["sources"] == ["tinyshakespeare"]
    record_optout(settings, "tinyshakespeare", "test opt-out", by="carol")
    with pytest.raises(TrainingRefused, match="'tinyshakespeare'.*by carol: test opt-out"):
        prepare(script_dir, tmp_path / "refused", vocab_size=300)
    assert not (tmp_path / "refused").exists()


def test_moderation_trainer_refuses_before_reading(settings: Settings, tmp_path: Path) -> None:
    from soundstage.moderate.train import DAVIDSON, OLID_TRAIN, train

    for rel in (OLID_TRAIN, DAVIDSON):  # empty files: the check comes before any parsing
        (tmp_path / "mod" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "mod" / rel).write_text("")
    record_optout(settings, "davidson", "withdrawn consent", by="dan")
    with pytest.raises(TrainingRefused, match="'davidson_hate_offensive'.*withdrawn consent"):
        train(tmp_path / "mod", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_recommender_paths_are_matched_to_entries(settings: Settings) -> None:
    assert check_path_use(Path("/x/rec/ml-100k/u.data"), settings) == get_entry("ml-100k")
    assert check_path_use(Path("/x/our_logs.csv"), settings) is None
    record_optout(settings, "ml-100k", "GroupLens asked", by="erin")
    with pytest.raises(TrainingRefused, match="'ml-100k' for research training"):
        check_path_use(Path("/x/ml-100k"), settings)


# --- the command line -------------------------------------------------------------------------


def test_cli_list_show_optout_and_a_refused_training_run(tmp_path: Path) -> None:
    listed = run_soundstage("data", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["id"]: row for row in json.loads(listed.stdout)}
    assert set(rows) == set(load_registry())
    assert rows["ml-100k"]["training"]["ship"]["allowed"] is False
    assert rows["olid"]["model_cards"] == ["moderation-embed", "moderation-fast"]

    opted = run_soundstage("data", "optout", "hamlet", "--reason", "rights query", "--by", "fay")
    assert opted.returncode == 0, opted.stderr
    shown = json.loads(run_soundstage("data", "show", "bosak_shakespeare", "--json").stdout)
    assert shown["opted_out"] is True and shown["optout"]["local"]["by"] == "fay"
    assert shown["training"]["research"]["allowed"] is False

    script_dir = _tiny_script_dir(tmp_path)
    (script_dir / "bosak_shakespeare").mkdir()
    (script_dir / "bosak_shakespeare" / "hamlet.xml").write_text(
        "<PLAY><SPEECH><SPEAKER>HAMLET</SPEAKER><LINE>To be.</LINE></SPEECH></PLAY>"
    )
    cmd = [sys.executable, "-m", "soundstage.lm.prepare", "--script-dir", str(script_dir)]
    refused = subprocess.run(
        [*cmd, "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=120
    )
    assert refused.returncode != 0
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "'bosak_shakespeare'" in refused.stderr and "rights query" in refused.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("data", "show", "nope"),
        ("data", "optout", "nope", "--reason", "x"),
        ("data", "optout", "olid"),
    ],
)
def test_cli_errors_are_one_line_with_exit_code_2(args: tuple[str, ...]) -> None:
    result = run_soundstage(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
