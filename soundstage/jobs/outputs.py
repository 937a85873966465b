"""Writing job outputs so a crash never leaves a half-written or duplicated file.

A job's outputs live in `outputs/<job_id>/`, a pure function of the job id: when a worker
dies and the job runs again, the second attempt overwrites the same files instead of adding
new ones. Each file is written to a temp file in the same folder, fsynced, then renamed over
the final name, so readers see the old file or the new one, never a torn one.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from soundstage.settings import Settings

TMP_SUFFIX = ".tmp"


def job_output_dir(settings: Settings, job_id: str) -> Path:
    return settings.outputs_dir / job_id


@contextmanager
def atomic_writer(path: Path, *, encoding: str = "utf-8") -> Iterator[TextIO]:
    """Open a temp file next to `path`; on a clean exit it replaces `path` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{TMP_SUFFIX}")
    handle = tmp.open("w", encoding=encoding, newline="")
    try:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        handle.close()
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> Path:
    with atomic_writer(path) as handle:
        handle.write(text)
    return path


def atomic_write_json(path: Path, data: Any) -> Path:
    return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def remove_partial(folder: Path) -> int:
    """Delete temp files a killed attempt left behind; returns how many."""
    if not folder.is_dir():
        return 0
    removed = 0
    for leftover in folder.glob(f".*{TMP_SUFFIX}"):
        leftover.unlink(missing_ok=True)
        removed += 1
    return removed


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not possible on Windows, where it is not needed.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
