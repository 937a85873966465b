"""Provenance domain types."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Detection:
    """A watermark detector's answer for one text or recording.

    `z` is the test statistic (a z-score: how far above chance the keyed evidence is),
    `threshold` the z above which `marked` is true, `fpr` the false-positive rate that
    threshold was chosen for (one-sided, under the null of unmarked content), `units` how
    many tokens / frames were scored. `p_value` is the one-sided p-value of `z`.
    """

    kind: str  # "text" or "audio"
    z: float
    p_value: float
    threshold: float
    fpr: float
    units: int
    marked: bool
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
