"""The music data layer: value types, MIDI I/O, corpus cache, tokens, split."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from soundstage.errors import FormatError
from soundstage.music import corpus, prepare, tokens
from soundstage.music.midi_io import read_midi, write_midi
from soundstage.music.types import (
    Note,
    Piece,
    Track,
    duration,
    mean_velocity,
    note_density,
    pitch_range,
)

C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72]
A_MINOR = [57, 59, 60, 62, 64, 65, 68, 69]


def melody(scale: list[int], *, step: float, count: int = 48, seed: int = 0) -> tuple[Note, ...]:
    rnd = random.Random(seed)
    notes, t = [], 0.0
    for i in range(count):
        pitch = scale[0] if i % 8 == 0 else rnd.choice(scale)
        length = step * rnd.choice([1, 2])
        notes.append(Note(pitch, t, t + length, 95))
        t += length
    return tuple(notes)


def two_voice_piece() -> Piece:
    upper = melody(C_MAJOR, step=0.25, seed=1)
    bass = tuple(Note(48, i * 1.0, i * 1.0 + 0.5, 64) for i in range(8))
    return Piece(
        (Track(40, False, "fiddle", upper), Track(32, False, "bass", bass)),
        tempo_bpm=120.0,
        time_signature=(3, 4),
        key="e minor",
        title="Test tune",
        source="oneills1850",
        licence="public domain",
    )


# --- types ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pitch": 128, "start": 0.0, "end": 1.0},
        {"pitch": -1, "start": 0.0, "end": 1.0},
        {"pitch": 60, "start": 1.0, "end": 1.0},
        {"pitch": 60, "start": 1.0, "end": 0.5},
        {"pitch": 60, "start": -0.1, "end": 0.5},
        {"pitch": 60, "start": 0.0, "end": 1.0, "velocity": 0},
        {"pitch": 60, "start": 0.0, "end": 1.0, "velocity": 128},
    ],
)
def test_note_rejects_invalid_values(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Note(**kwargs)  # type: ignore[arg-type]


def test_piece_helpers() -> None:
    notes = (Note(60, 0.0, 1.0, 100), Note(72, 1.0, 2.0, 50), Note(55, 1.5, 4.0, 60))
    piece = Piece((Track(0, False, "p", notes),), tempo_bpm=90)
    assert duration(piece) == 4.0
    assert note_density(piece) == 0.75
    assert pitch_range(piece) == (55, 72)
    assert mean_velocity(piece) == 70.0
    assert duration(Piece()) == 0.0 and note_density(Piece()) == 0.0
    with pytest.raises(ValueError):
        Piece(time_signature=(4, 3))


# --- MIDI I/O --------------------------------------------------------------------------------


def test_midi_round_trip_within_tick_rounding(tmp_path: Path) -> None:
    piece = two_voice_piece()
    path = write_midi(piece, tmp_path / "sub" / "tune.mid")
    assert not list(path.parent.glob("*.tmp"))
    back = read_midi(path)
    assert (back.tempo_bpm, back.time_signature, back.key) == (120.0, (3, 4), "e minor")
    assert (back.title, back.source, back.licence) == ("Test tune", "oneills1850", "public domain")
    assert [(t.program, t.name) for t in back.tracks] == [(40, "fiddle"), (32, "bass")]
    tick = 60.0 / 120.0 / 480
    for orig, got in zip(piece.tracks, back.tracks, strict=True):
        assert len(orig.notes) == len(got.notes)
        for a, b in zip(orig.notes, got.notes, strict=True):
            assert (a.pitch, a.velocity) == (b.pitch, b.velocity)
            assert abs(a.start - b.start) <= tick and abs(a.end - b.end) <= tick


def test_bad_midi_files_raise_format_error(tmp_path: Path) -> None:
    good = write_midi(two_voice_piece(), tmp_path / "good.mid").read_bytes()
    cases = {
        "random.mid": random.Random(3).randbytes(400),
        "truncated.mid": good[: len(good) // 2],
        "header_only.mid": good[:20],
        "empty.mid": b"",
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(FormatError) as info:
            read_midi(path)
        message = str(info.value)
        assert message.startswith(str(path)) and "\n" not in message, message
    with pytest.raises(FormatError, match="missing.mid"):
        read_midi(tmp_path / "missing.mid")


# --- corpus ----------------------------------------------------------------------------------


def test_corpus_never_reads_essen() -> None:
    assert "essenFolksong" not in corpus.SOURCES
    with pytest.raises(ValueError, match="excluded"):
        corpus.units("essenFolksong")


def test_convert_three_music21_pieces(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    manifest = corpus.build_cache(cache, sources=["bach_chorales", "oneills1850"], limit=3)
    assert manifest["counts"]["bach_chorales"]["pieces"] == 3
    assert manifest["counts"]["oneills1850"]["pieces"] == 3
    on_disk = json.loads((cache / "manifest.json").read_text())
    assert len(on_disk["pieces"]) == 6
    for entry in on_disk["pieces"]:
        assert entry["licence"] == corpus.LICENCES[entry["source"]]
        piece = corpus.cached_piece(cache, entry)
        assert piece.note_count == entry["notes"] > 0 and piece.source == entry["source"]
    chorale = next(p for p in on_disk["pieces"] if p["source"] == "bach_chorales")
    assert chorale["tracks"] == 4
    again = corpus.build_cache(cache, sources=["bach_chorales", "oneills1850"], limit=3)
    assert again["run"]["bach_chorales"]["cached"] == 3 and again["run"]["bach_chorales"]["ok"] == 0


def test_failed_units_are_counted_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(unit: corpus.Unit, **_: object) -> Piece:
        raise RuntimeError("parser exploded")

    monkeypatch.setattr(corpus, "load_unit", broken)
    manifest = corpus.build_cache(tmp_path / "c", sources=["airdsAirs"], limit=2)
    assert manifest["counts"]["airdsAirs"] == {
        "pieces": 0,
        "failed": 2,
        "failure_reasons": {"RuntimeError": 2},
        "seconds_of_music": 0.0,
    }


def test_convert_three_jsb_chorales(tmp_path: Path, shared: Callable[..., Path]) -> None:
    jsb = shared("music", "jsb_chorales")
    manifest = corpus.build_cache(tmp_path / "c", sources=["jsb_chorales"], limit=3, jsb_dir=jsb)
    assert manifest["counts"]["jsb_chorales"]["pieces"] == 3
    piece = corpus.cached_piece(tmp_path / "c", manifest["pieces"][0])
    assert len(piece.tracks) == 4 and piece.tempo_bpm == corpus.JSB_BPM


def test_jsb_rolls_merge_held_pitches() -> None:
    steps = [[72, 67, 64, 48], [72, 67, 64, 48], [74, -1, 65, 48], [74, -1, 65, 50]]
    piece = corpus.piece_from_jsb(steps, title="t")
    step = 60.0 / corpus.JSB_BPM / 4
    soprano, alto, tenor, bass = (t.notes for t in piece.tracks)
    assert [(n.pitch, n.start, n.end) for n in soprano] == [
        (72, 0, 2 * step),
        (74, 2 * step, 4 * step),
    ]
    assert [n.pitch for n in alto] == [67] and [n.pitch for n in bass] == [48, 50]


# --- tokens ----------------------------------------------------------------------------------


def test_tokenizer_round_trip_and_json(tmp_path: Path) -> None:
    tok = tokens.MusicTokenizer()
    piece = Piece((Track(0, False, "m", melody(C_MAJOR, step=0.25)),), tempo_bpm=120.0)
    ids = tok.encode(piece)
    assert ids[0] == tok.bos and ids[-1] == tok.eos and max(ids) < len(tok)
    tok.save(tmp_path / "tokenizer.json")
    json.loads((tmp_path / "tokenizer.json").read_text())
    again = tokens.MusicTokenizer.load(tmp_path / "tokenizer.json")
    assert again.vocab == tok.vocab and again.encode(piece) == ids
    back = again.decode(ids)
    expect = [(n.pitch, round(n.start, 3), round(n.end, 3), n.velocity) for n in piece.notes]
    got = [(n.pitch, round(n.start, 3), round(n.end, 3), n.velocity) for n in back.notes]
    assert got == expect and back.tempo_bpm == 120.0


def test_conditioning_tokens_match_features() -> None:
    tok = tokens.MusicTokenizer()
    fast_major = Piece(
        (Track(0, False, "m", melody(C_MAJOR, step=0.125)),), tempo_bpm=150, source="ryansMammoth"
    )
    slow_minor = Piece(
        (Track(0, False, "m", melody(A_MINOR, step=1.0, count=24)),),
        tempo_bpm=60,
        source="bach_chorales",
    )
    for piece, expect in [
        (
            fast_major,
            ["Style_fiddle", "Mode_major", "Tempo_veryfast", "Density_high", "Emotion_Q1"],
        ),
        (slow_minor, ["Style_chorale", "Mode_minor", "Tempo_slow", "Density_low", "Emotion_Q3"]),
    ]:
        ids = tok.encode(piece)
        assert [tok.id_to_token[i] for i in ids[1:6]] == expect
        assert tokens.estimate_key(piece)[0] == (0 if piece is fast_major else 9)
    assert tokens.quadrant(major=False, high_arousal=True) == "Q2"
    assert tokens.quadrant(major=True, high_arousal=False) == "Q4"


def test_decode_repairs_invalid_successions() -> None:
    tok = tokens.MusicTokenizer()
    good = tok.encode(Piece((Track(0, False, "m", melody(C_MAJOR, step=0.5, count=8)),)))
    names = [tok.id_to_token[i] for i in good]
    pitch_at = names.index(next(t for t in names if t.startswith("Pitch_")))
    broken = names[:pitch_at] + ["Pitch_70", "Duration_1.0.4"] + names[pitch_at:]  # no Velocity
    broken = ["Position_3", "Velocity_95"] + broken + ["Pitch_60"]  # junk before Bar, dangling end
    piece = tok.decode([tok.vocab[t] for t in broken])
    assert [n.pitch for n in piece.notes] == [n.pitch for n in tok.decode(good).notes]
    assert 70 not in [n.pitch for n in piece.notes]
    assert tokens.repair(["Bar_None", "Position_8", "Position_4", "TimeSig_4/4"]) == [
        "Bar_None",
        "Position_8",
    ]
    assert tok.decode([tok.bos, tok.eos]).note_count == 0


# --- prepare ---------------------------------------------------------------------------------


def test_prepare_splits_by_piece(tmp_path: Path) -> None:
    sources = ("bach_chorales", "airdsAirs")
    meta = prepare.prepare(tmp_path / "out", limit=3, sources=sources, val_fraction=0.5, log=None)
    out = tmp_path / "out"
    train, val = set(meta["pieces"]["train"]), set(meta["pieces"]["val"])
    assert train and val and not train & val and len(train | val) == 6
    for part in ("train", "val"):
        ids = np.load(out / f"{part}.npy")
        offsets = np.load(out / f"{part}_offsets.npy")
        assert ids.dtype == np.uint16 and offsets[-1] == ids.size
        assert len(offsets) == meta["splits"][part]["pieces"] + 1
        tok = tokens.MusicTokenizer.load(out / "tokenizer.json")
        for a, b in zip(offsets[:-1], offsets[1:], strict=True):
            assert ids[a] == tok.bos and ids[b - 1] == tok.eos  # every piece whole, in place
    meta_file = json.loads((out / "meta.json").read_text())
    assert meta_file["vocab_size"] == 271 and meta_file["splits"] == meta["splits"]


def test_split_is_stable_and_keeps_jsb_split() -> None:
    entry = {"source": "oneills1850", "id": "0001-0050-0007"}
    assert prepare.split_of(entry) == prepare.split_of(dict(entry))
    assert prepare.split_of({"source": "jsb_chorales", "id": "valid-003"}) == "val"
    assert prepare.split_of({"source": "jsb_chorales", "id": "train-003"}) == "train"
    shares = [prepare.split_of({"source": "x", "id": str(i)}) for i in range(2000)]
    assert 0.07 < shares.count("val") / 2000 < 0.13
