"""Composer quality and speed: realism with and without the critic, emotion control, speed.

    python benchmarks/music_eval.py [--samples 100] [--data runs/music_data] [--json OUT.json]

The same code as `soundstage music eval` (soundstage/music/evaluate.py, where the method is
described); needs the prepared corpus (`python -m soundstage.music.prepare`). Results go in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from soundstage.music.evaluate import evaluate, markdown


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--data", type=Path, default=Path("runs/music_data"))
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = parser.parse_args()
    began = time.perf_counter()
    result = evaluate(args.model, args.data, samples=args.samples, log=print)
    result["machine"] = f"{platform.machine()} {platform.processor() or ''}".strip()
    result["seconds"] = round(time.perf_counter() - began, 1)
    print(markdown(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
