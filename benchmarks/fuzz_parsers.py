"""Fuzz every parser that reads a user's file: no input may raise anything but a
`SoundstageError` (which the CLI prints as one line and the web app answers 4xx).

Inputs come from hypothesis (generate phase only, no database): half arbitrary text or bytes,
half a valid file of the format with a few random edits (insertions, deletions, cuts), which
gets much deeper into each parser than noise does. Parsers:

    fountain     script.formats.fountain_read.parse_fountain (text)
    fdx          script.formats.fdx.parse_fdx (bytes)
    script-json  cli.write_files.read_script on a .json file (Document or Screenplay JSON)
    midi         music.midi_io.read_midi (a file)
    csv-log      recommend.data.read_csv (a file)
    policy       moderate.policy.parse_policy (TOML and YAML)

    .venv/bin/python benchmarks/fuzz_parsers.py [--examples 100000] [--only fountain,fdx]

Prints per parser: inputs tried, inputs/s, crashes (anything else raised), and the first few
crashes with a short repr of their input. tests/test_fuzz_parsers.py runs the same with 150
inputs each.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from soundstage.errors import SoundstageError

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Result:
    name: str
    tried: int = 0
    seconds: float = 0.0
    crashes: list[tuple[str, str]] = field(default_factory=list)


def mutated(seed: bytes) -> st.SearchStrategy[bytes]:
    """`seed` with up to 6 random edits: an insertion, a deletion or a cut each."""
    edit = st.tuples(
        st.sampled_from(("insert", "delete", "cut")),
        st.integers(0, max(0, len(seed))),
        st.binary(max_size=8),
    )

    def apply(edits: list[tuple[str, int, bytes]]) -> bytes:
        data = bytearray(seed)
        for kind, at, blob in edits:
            at = min(at, len(data))
            if kind == "insert":
                data[at:at] = blob
            elif kind == "delete":
                del data[at : at + len(blob) + 1]
            else:
                del data[at:]
        return bytes(data)

    return st.lists(edit, min_size=1, max_size=6).map(apply)


def inputs(seed: bytes) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=400), st.text(max_size=400).map(str.encode), mutated(seed))


def run(name: str, seed: bytes, target: Callable[[bytes], Any], examples: int) -> Result:
    result = Result(name)

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(inputs(seed))
    def fuzz(data: bytes) -> None:
        result.tried += 1
        try:
            target(data)
        except SoundstageError:
            pass
        except Exception as exc:  # a crash: anything but a one-line user error
            result.crashes.append((f"{type(exc).__name__}: {exc}"[:160], repr(data[:120])))

    started = time.perf_counter()
    fuzz()
    result.seconds = time.perf_counter() - started
    return result


# -- the parsers and a valid seed file for each --------------------------------------------


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def fountain_target() -> tuple[bytes, Callable[[bytes], Any]]:
    from soundstage.script.formats.fountain_read import parse_fountain

    seed = (ROOT / "tests" / "script" / "fixtures" / "sampler.fountain").read_bytes()[:4000]
    return seed, lambda data: parse_fountain(_text(data))


def fdx_target() -> tuple[bytes, Callable[[bytes], Any]]:
    from soundstage.script.formats.fdx import parse_fdx, write_fdx
    from soundstage.script.formats.fountain_read import parse_fountain

    seed = write_fdx(parse_fountain(fountain_target()[0].decode()))
    return seed, lambda data: parse_fdx(data)


def file_target(suffix: str, read: Callable[[Path], Any]) -> Callable[[bytes], Any]:
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    path = folder / f"input{suffix}"

    def target(data: bytes) -> Any:
        path.write_bytes(data)
        return read(path)

    return target


def json_target() -> tuple[bytes, Callable[[bytes], Any]]:
    from soundstage.cli.write_files import read_script
    from soundstage.script.types import (
        Character,
        Controls,
        Dialogue,
        Line,
        Place,
        Scene,
        Screenplay,
    )

    sp = Screenplay(logline="A keeper finds a map.", controls=Controls(), title="The Map")
    sp.characters = [Character("ada", "Ada Moss", "(60) keeper. Ada wants the map.", "she/her")]
    sp.places = [Place("LIGHTHOUSE", "A tall white tower.")]
    sp.scenes = [Scene("s1", "LIGHTHOUSE", "Setup", "Ada finds the map.", ("ada",))]
    sp.dialogue = {"s1": Dialogue("s1", (Line("ada", "Where did you come from?"),), "Rain.")}
    seed = json.dumps(sp.to_json()).encode()
    return seed, file_target(".json", read_script)


def midi_target() -> tuple[bytes, Callable[[bytes], Any]]:
    import symusic

    from soundstage.music.midi_io import read_midi

    score = symusic.Score(480)
    track = symusic.Track("piano", 0)
    for i, pitch in enumerate((60, 62, 64, 65, 67)):
        track.notes.append(symusic.Note(i * 480, 480, pitch, 80))
    score.tracks.append(track)
    return bytes(score.dumps_midi()), file_target(".mid", read_midi)


def csv_target() -> tuple[bytes, Callable[[bytes], Any]]:
    from soundstage.recommend.data import read_csv

    seed = b"user_id,item_id,value,timestamp\n1,10,5,881250949\n1,11,3,881250950\n2,10,4,0\n"
    return seed, file_target(".csv", read_csv)


def policy_target() -> tuple[bytes, Callable[[bytes], Any]]:
    from soundstage.moderate.policy import parse_policy

    seed = (ROOT / "soundstage" / "moderate" / "policies" / "community.toml").read_bytes()

    def target(data: bytes) -> Any:
        text = _text(data)
        for yaml in (False, True):
            try:
                parse_policy(text, "fuzz.toml", yaml=yaml)
            except SoundstageError:
                pass

    return seed, target


TARGETS: dict[str, Callable[[], tuple[bytes, Callable[[bytes], Any]]]] = {
    "fountain": fountain_target,
    "fdx": fdx_target,
    "script-json": json_target,
    "midi": midi_target,
    "csv-log": csv_target,
    "policy": policy_target,
}


def fuzz_all(examples: int, only: list[str] | None = None) -> list[Result]:
    out = []
    for name, make in TARGETS.items():
        if only and name not in only:
            continue
        seed, target = make()
        out.append(run(name, seed, target, examples))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--only", default="", help="comma-separated parser names")
    args = parser.parse_args()
    only = [x for x in args.only.split(",") if x]
    print("| parser | inputs | inputs/s | crashes |\n|---|---|---|---|", flush=True)
    for r in fuzz_all(args.examples, only):
        print(
            f"| {r.name} | {r.tried:,} | {r.tried / r.seconds:,.0f} | {len(r.crashes)} |",
            flush=True,
        )
        for message, data in r.crashes[:3]:
            print(f"|   | {message} | {data} | |", flush=True)


if __name__ == "__main__":
    main()
