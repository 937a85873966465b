"""What signing costs `produce` (issue #15: signing + watermarking ≤ 10% of wall time).

Runs the same production twice in one data dir (same seed, same keys, so the same script
and score): unsigned, then signed with content credentials; both with the watermarks on
(the text mark is in the sampler, the audio mark in every render), and once more with
the watermark setting off. Prints wall times and verifies
every file of the signed package.

    .venv/bin/python benchmarks/provenance_overhead.py [--minutes 2] [--model embedded]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

LOGLINE = "A lighthouse keeper must save a stranded whale before the winter storm arrives."


def run(settings: object, out: Path, model: str, minutes: float, sign: bool) -> float:
    from soundstage.backends import load_backend
    from soundstage.produce import produce
    from soundstage.script.types import Controls

    # The score's audio mark reads the environment's settings: make them these.
    os.environ["SOUNDSTAGE_DATA_DIR"] = str(settings.data_dir)  # type: ignore[attr-defined]
    os.environ["SOUNDSTAGE_WATERMARK"] = "1" if settings.watermark else "0"  # type: ignore[attr-defined]
    with load_backend(model, settings) as backend:  # type: ignore[arg-type]
        started = time.perf_counter()
        produce(
            LOGLINE,
            out,
            backend,
            Controls(minutes=minutes),
            settings=settings if sign else None,  # type: ignore[arg-type]
        )
        return time.perf_counter() - started


def main() -> None:
    from soundstage.provenance.credentials import verify_path
    from soundstage.provenance.signing import credentials
    from soundstage.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        marked = Settings(data_dir=Path(tmp) / "data", model=args.model)
        plain = Settings(data_dir=Path(tmp) / "data", model=args.model, watermark=False)
        credentials(marked)  # keys made before timing
        rows = []
        variants = [
            ("no watermark, unsigned", plain, False),
            ("watermarks, unsigned", marked, False),
            ("watermarks, signed", marked, True),
        ]
        for r in range(args.rounds):
            # Each round starts with another variant: the first run of a round is the slow one.
            for label, settings, sign in variants[r % 3 :] + variants[: r % 3]:
                out = Path(tmp) / f"{label.replace(' ', '-').replace(',', '')}-{r}"
                rows.append((label, run(settings, out, args.model, args.minutes, sign), out))
        for label in dict.fromkeys(r[0] for r in rows):
            times = sorted(t for lbl, t, _ in rows if lbl == label)
            shown = ", ".join(f"{t:.1f}" for t in times)
            median = times[len(times) // 2]
            print(f"{label:<26} best {times[0]:5.1f} s  median {median:5.1f} s  all {shown}")
        signed = [out for lbl, _, out in rows if lbl == "watermarks, signed"][-1]
        found = credentials(marked, create=False)
        assert found is not None
        checks = verify_path(found, signed)
        bad = [c for c in checks if not c.ok]
        print(f"signed package: {len(checks)} files, {len(checks) - len(bad)} valid")


if __name__ == "__main__":
    main()
