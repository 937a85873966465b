"""Fountain 1.1 (fountain.io) files: read into and write from `elements.Document`.

The parser lives in `fountain_read`, the writer in `fountain_write`; this module adds the
file handling: strict UTF-8 in with line-numbered errors, atomic replace out.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from soundstage.errors import FormatError
from soundstage.script.formats.elements import Document
from soundstage.script.formats.fountain_read import parse_fountain
from soundstage.script.formats.fountain_write import write_fountain

__all__ = ["parse_fountain", "read_fountain", "save_fountain", "write_fountain"]

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def read_fountain(path: str | os.PathLike[str]) -> Document:
    """Read a `.fountain` file (UTF-8, BOM and CRLF/CR tolerated)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError.at(path, None, f"cannot read: {exc.strerror or exc}") from exc
    if data.startswith(_UTF16_BOMS):
        raise FormatError.at(path, 1, "file is UTF-16", hint="save it as UTF-8")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise FormatError.at(path, _line_at(data, nul), "binary file (NUL byte), not Fountain")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError.at(
            path,
            _line_at(data, exc.start),
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x})",
            hint="save the file as UTF-8",
        ) from None
    return parse_fountain(text, source=str(path))


def save_fountain(doc: Document, path: str | os.PathLike[str]) -> None:
    """Write `doc` to `path` atomically: a temp file in the same folder, then `os.replace`."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8", newline="\n") as handle:
            handle.write(write_fountain(doc))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1
