"""Run the `soundstage` command line as a user does: a real subprocess, output captured.

Importable from every test module because pytest puts this folder (where the root conftest.py
lives) on sys.path.
"""

from __future__ import annotations

import os
import subprocess
import sys


def run_soundstage(
    *args: str, timeout: float = 300, columns: int = 120
) -> subprocess.CompletedProcess[str]:
    """`python -m soundstage ARGS…` with COLUMNS fixed, so Rich wraps output predictably."""
    return subprocess.run(
        [sys.executable, "-m", "soundstage", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": str(columns)},
    )
