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
    from soundstage.moderate.policy import parse_policy

    for yaml_text in ("?", "toxicity:\n  1: 0.5\n"):
        with pytest.raises(SoundstageError, match="keys must be text"):
            parse_policy(yaml_text, "p.yaml", yaml=True)
    with pytest.raises(SoundstageError, match="unknown text encoding"):
        parse_fdx(b"<?xml version='1.0' encoding='TF-8'?>\n<FinalDraft/>")


# 88 bytes that made symusic 0.5 segfault (a note event whose data bytes are >= 0x80).
CRASHER = (
    "4d546864000000060001000101e04d54726b0000003d00ff03057069616e6f00c00000903c508360803c50"
    "eb6f9f9d9fa512aca281eb9f9d9fa512aca2816f00903e508360803e50009050836080405000904150836080"
    "41"
)


def test_a_midi_file_that_crashed_symusic_is_a_one_line_error(tmp_path: Path) -> None:
    """The whole process died on this file; the event stream is now checked first."""
    from soundstage.music.midi_io import read_midi

    midi = tmp_path / "crash.mid"
    midi.write_bytes(bytes.fromhex(CRASHER))
    with pytest.raises(SoundstageError, match="track 1: a channel event with missing or bad"):
        read_midi(midi)
