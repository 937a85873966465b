"""Model and training configuration as typed dataclasses, loadable from TOML recipes.

Recipes live in `configs/lm_*.toml` with two tables, `[model]` and `[train]`; command-line
`--set train.max_iters=200` overrides are type-checked against the dataclass fields.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int = 4096  # byte-level BPE; small because the corpus is ~1.3 MB
    block_size: int = 256  # context length in tokens (~1,000 characters of verse)
    n_layer: int = 6
    n_head: int = 6
    n_embd: int = 384
    dropout: float = 0.2  # the corpus is tiny; dropout is what keeps val loss falling

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class TrainConfig:
    batch_size: int = 32
    max_iters: int = 3000
    eval_interval: int = 250
    learning_rate: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 100
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    beta2: float = 0.99
    seed: int = 1337
    device: str = "auto"  # auto → cuda when available, else cpu
    threads: int = 0  # torch CPU threads; 0 = torch's default
    max_minutes: float = 0.0  # stop early after this wall time (0 = no limit)
    # Stop when val loss has not improved for this many evals (0 = never).
    patience: int = 4


@dataclass(frozen=True)
class Recipe:
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def _coerce(value: str, target: Any) -> Any:
    if isinstance(target, bool):
        return value.lower() in {"1", "true", "yes"}
    if isinstance(target, int):
        return int(value)
    if isinstance(target, float):
        return float(value)
    return value


def load_recipe(path: Path | None, overrides: list[str] | None = None) -> Recipe:
    """Read a TOML recipe and apply `section.key=value` overrides."""
    raw: dict[str, dict[str, Any]] = {"model": {}, "train": {}}
    if path is not None:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        for section in data:
            if section not in raw:
                raise ValueError(f"{path}: unknown section [{section}] (use [model] and [train])")
            raw[section].update(data[section])
    defaults: dict[str, object] = {"model": ModelConfig(), "train": TrainConfig()}
    for item in overrides or []:
        key, eq, value = item.partition("=")
        section, dot, name = key.partition(".")
        if not eq or not dot or section not in raw:
            raise ValueError(f"override {item!r} must look like train.max_iters=200")
        fields = {
            f.name for f in dataclasses.fields(ModelConfig if section == "model" else TrainConfig)
        }
        current = getattr(defaults[section], name, None)
        if name not in fields:
            raise ValueError(f"override {item!r}: {section} has no field {name!r}")
        raw[section][name] = _coerce(value, current)
    for section, cls in (("model", ModelConfig), ("train", TrainConfig)):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(raw[section]) - known
        if unknown:
            raise ValueError(f"unknown [{section}] keys: {', '.join(sorted(unknown))}")
    return Recipe(ModelConfig(**raw["model"]), TrainConfig(**raw["train"]))


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically (temp file, then rename)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
