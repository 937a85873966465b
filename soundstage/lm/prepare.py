"""Prepare training data: corpus → tokenizer → token ids.

    python -m soundstage.lm.prepare --script-dir ../shared/data/script --out runs/lm_data

Writes `tokenizer.json`, `train.npy` / `val.npy` (uint16 token ids, EOT between plays) and
`meta.json` (sizes, characters per token, sources) into --out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from soundstage.datasets import check_sources
from soundstage.errors import SoundstageError
from soundstage.lm.config import write_json
from soundstage.lm.corpus import EOT, load_documents, split
from soundstage.lm.tokenizer import train_tokenizer


def prepare(script_dir: Path, out: Path, vocab_size: int = 4096) -> dict[str, object]:
    docs = load_documents(script_dir)
    check_sources(d.name for d in docs)  # registry: opt-outs and licences (shipped weights)
    parts = [split(doc) for doc in docs]
    train_text = [train for train, _ in parts]
    val_text = [val for _, val in parts if val]
    tok = train_tokenizer(train_text, vocab_size)
    eot = tok.token_to_id(EOT)
    assert eot is not None, "the tokenizer trainer always adds the EOT special token"

    def ids(texts: list[str]) -> np.ndarray:
        out_ids: list[int] = []
        for text in texts:
            out_ids.extend(tok.encode(text).ids)
            out_ids.append(eot)
        return np.asarray(out_ids, dtype=np.uint16)

    train_ids, val_ids = ids(train_text), ids(val_text)
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    np.save(out / "train.npy", train_ids)
    np.save(out / "val.npy", val_ids)
    meta: dict[str, object] = {
        "vocab_size": tok.get_vocab_size(),
        "sources": [d.name for d in docs],
        "train_tokens": int(train_ids.size),
        "val_tokens": int(val_ids.size),
        "train_chars": sum(len(t) for t in train_text),
        "val_chars": sum(len(t) for t in val_text),
    }
    write_json(out / "meta.json", meta)
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--script-dir", type=Path, default=Path("../shared/data/script"))
    parser.add_argument("--out", type=Path, default=Path("runs/lm_data"))
    parser.add_argument("--vocab-size", type=int, default=4096)
    args = parser.parse_args()
    if not (args.script_dir / "tinyshakespeare" / "input.txt").exists():
        raise SystemExit(f"error: {args.script_dir}/tinyshakespeare/input.txt not found")
    try:
        print(prepare(args.script_dir, args.out, args.vocab_size))
    except SoundstageError as exc:
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":
    main()
