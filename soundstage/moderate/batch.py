"""Moderate a CSV column: the library behind `soundstage moderate batch` and the
`moderate-batch` job, so both write the same file.

Why read everything first: every row is checked (UTF-8, size, shape) before any is scored, so a
bad row 90% of the way through fails in a second with `file:line`, not after the work, and the
output is written to a temp file and renamed — a failure never leaves half a CSV. Files beyond a
few million rows belong on Spark (`moderate.spark`).

Output: the input columns unchanged, then ``mod_<category>`` per category (blank when the
language is not supported), ``mod_decision``, ``mod_reason``, ``mod_lang``, ``mod_supported`` and,
with explanations, ``mod_spans``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from soundstage.errors import FormatError, SoundstageError
from soundstage.fileio import replacing
from soundstage.moderate.service import MAX_BYTES, Moderator, TextError
from soundstage.moderate.types import Verdict

__all__ = ["COLUMN_PREFIX", "BatchResult", "moderate_csv", "read_csv_column"]

COLUMN_PREFIX = "mod_"


@dataclass
class BatchResult:
    rows: int
    out: Path
    counts: dict[str, int]
    flagged: list[tuple[str, str, Verdict]] = field(default_factory=list)  # (content id, text, v)


def read_csv_column(
    path: Path, column: str, id_column: str = ""
) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a UTF-8 CSV, with one-line errors for binary, bad bytes, bad columns."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SoundstageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if b"\x00" in raw[:8192]:
        raise FormatError(f"{path}: looks like a binary file, not CSV text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise FormatError.at(path, line, f"not valid UTF-8 (byte {exc.start})") from None
    csv.field_size_limit(4 * MAX_BYTES)  # let oversize texts through to the size check
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = list(reader.fieldnames or [])
    if not header:
        raise FormatError(f"{path}: empty file, expected a CSV header")
    for wanted, what in ((column, "text column"), (id_column, "id column")):
        if wanted and wanted not in header:
            raise FormatError.at(
                path, 1, f"no column {wanted!r} for the {what} (columns: {', '.join(header)})"
            )
    rows: list[dict[str, str]] = []
    try:
        for row in reader:
            if None in row:
                raise FormatError.at(path, reader.line_num, "more fields than the header")
            rows.append(row)
    except csv.Error as exc:
        raise FormatError.at(path, reader.line_num, f"bad CSV: {exc}") from None
    return header, rows


def moderate_csv(
    source: Path,
    text_column: str,
    out: Path,
    moderator: Moderator,
    *,
    id_column: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Score `text_column` of `source` and write `out` atomically; see the module docstring."""
    header, rows = read_csv_column(source, text_column, id_column)
    texts = [row[text_column] or "" for row in rows]
    categories = list(moderator.classifier.categories)
    extra = [COLUMN_PREFIX + c for c in categories]
    extra += [COLUMN_PREFIX + k for k in ("decision", "reason", "lang", "supported")]
    if moderator.explain:
        extra.append(COLUMN_PREFIX + "spans")
    clash = sorted(set(extra) & set(header))
    if clash:
        raise FormatError.at(source, 1, f"the input already has columns {', '.join(clash)}")
    try:  # every text is checked before any is scored (and before the first progress report)
        verdicts = moderator.check_many(texts, progress=progress)
    except TextError as exc:
        line = _line_of_row(source, exc.index)
        raise FormatError.at(source, line, f"column {text_column}: {exc.message}") from None
    with replacing(out) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header + extra)
        writer.writeheader()
        for row, v in zip(rows, verdicts, strict=True):
            writer.writerow({**row, **_columns(v, categories, moderator.explain)})
    result = BatchResult(
        rows=len(rows),
        out=out,
        counts={d: sum(v.decision == d for v in verdicts) for d in ("allow", "review", "block")},
    )
    result.flagged = [
        ((row[id_column] if id_column else f"{source.name}:{i + 2}"), text, v)
        for i, (row, text, v) in enumerate(zip(rows, texts, verdicts, strict=True))
        if v.decision != "allow"
    ]
    return result


def _columns(v: Verdict, categories: list[str], explain: bool) -> dict[str, str]:
    cells = {COLUMN_PREFIX + c: (f"{v.scores[c]:.4f}" if c in v.scores else "") for c in categories}
    reason = "; ".join(f"{h.outcome} {h.category} {h.score:.2f}≥{h.threshold:g}" for h in v.hits)
    cells[COLUMN_PREFIX + "decision"] = v.decision
    cells[COLUMN_PREFIX + "reason"] = reason or ("unsupported language" if not v.supported else "")
    cells[COLUMN_PREFIX + "lang"] = v.lang
    cells[COLUMN_PREFIX + "supported"] = "yes" if v.supported else "no"
    if explain:
        cells[COLUMN_PREFIX + "spans"] = " | ".join(s.text for s in v.spans)
    return cells


def _line_of_row(path: Path, index: int) -> int | None:
    """The physical line a data row starts on (quoted fields may span lines)."""
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        start = reader.line_num + 1
        for i, _row in enumerate(reader):
            if i == index:
                return start
            start = reader.line_num + 1
    return None
