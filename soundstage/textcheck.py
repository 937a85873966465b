"""Text that cannot be stored or encoded: NUL and lone surrogates.

PostgreSQL refuses NUL in text columns, and a lone surrogate (U+D800–U+DFFF, which JSON can
spell as "\\ud800" and a shell can produce from bytes that are not UTF-8) cannot be encoded
as UTF-8 at all: either one reaching a database, a tokenizer or a file used to be a 500 or a
traceback. Every web body (`web/bodies.py`) and CLI text input is checked here first, and the
error names where the character is.
"""

from __future__ import annotations

import re
from typing import Any

from soundstage.errors import SoundstageError

__all__ = ["UNSAFE", "check_text", "unsafe_at", "unsafe_path"]

UNSAFE = re.compile("[\x00\ud800-\udfff]")


def unsafe_at(text: str) -> int | None:
    """The index of the first NUL or lone surrogate in `text`, or None."""
    found = UNSAFE.search(text)
    return found.start() if found else None


def unsafe_path(value: Any, path: str = "") -> str | None:
    """Where in a JSON-like value (dicts, lists, strings) the first unsafe character is, as
    `items[1].text`; None when there is none. Keys are checked too."""
    if isinstance(value, str):
        return (path or "text") if UNSAFE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and UNSAFE.search(key):
                return here
            found = unsafe_path(item, here)
            if found is not None:
                return found
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = unsafe_path(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def check_text(text: str, what: str) -> str:
    """`text` unchanged, or a SoundstageError naming `what` and the character's position."""
    at = unsafe_at(text)
    if at is not None:
        kind = "NUL" if text[at] == "\x00" else f"a lone surrogate (U+{ord(text[at]):04X})"
        raise SoundstageError(
            f"{what} contains {kind} at character {at + 1}",
            hint="text must be valid Unicode without NUL; was the input UTF-8?",
        )
    return text
