"""Every parser of a user's file raises only one-line user errors: a short run of
benchmarks/fuzz_parsers.py (150 inputs each; the benchmark runs 10^5), plus the inputs that
run found crashing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from soundstage.errors import SoundstageError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from fuzz_parsers import TARGETS, fuzz_all  # noqa: E402


@pytest.mark.parametrize("name", list(TARGETS))
def test_a_short_fuzz_finds_no_crash(name: str) -> None:
    (result,) = fuzz_all(150, [name])
    assert result.tried == 150
    assert result.crashes == []


def test_inputs_the_fuzzer_found(tmp_path: Path) -> None:
    from soundstage.recommend.data import read_csv
    from soundstage.script.formats.fdx import parse_fdx

    log = tmp_path / "log.csv"
    log.write_bytes(b"user_id,item_id\n\xdb\xe3,1\n")
    with pytest.raises(SoundstageError, match="log.csv:1: not utf-8 text"):
        read_csv(log)
    with pytest.raises(SoundstageError, match="unknown text encoding"):
        parse_fdx(b"<?xml version='1.0' encoding='TF-8'?>\n<FinalDraft/>")
