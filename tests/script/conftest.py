"""Script fixtures: `script_data` (paths into ../shared/data/script, skipping when absent),
`fixtures_dir`, and the Jouvence conformance cases.

`pytest_generate_tests` expands a test that takes `jouvence_case` into one test per YAML case
(id `<file>-<index>`, e.g. `action-2`); without the shared folder it becomes one skipped test.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

SCRIPT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "script"
JOUVENCE = SCRIPT_DATA / "jouvence_tests"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _script_data(*parts: str) -> Path:
    path = SCRIPT_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not present: {path}")
    return path


@pytest.fixture
def script_data() -> Callable[..., Path]:
    """Like tests/conftest.py's `shared_data`, rooted at ../shared/data/script."""
    return _script_data


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


def load_jouvence_cases() -> list[tuple[str, dict[str, Any]]]:
    """(id, case) for every `---` document of every test_*.yaml, in file order."""
    cases = []
    for path in sorted(JOUVENCE.glob("test_*.yaml")):
        with path.open(encoding="utf-8") as handle:
            for index, case in enumerate(yaml.safe_load_all(handle)):
                cases.append((f"{path.stem.removeprefix('test_')}-{index}", case))
    return cases


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "jouvence_case" not in metafunc.fixturenames:
        return
    if not JOUVENCE.is_dir():
        skip = pytest.mark.skip(reason=f"shared data not present: {JOUVENCE}")
        metafunc.parametrize("jouvence_case", [pytest.param(None, marks=skip)], ids=["absent"])
        return
    cases = load_jouvence_cases()
    metafunc.parametrize("jouvence_case", [c for _, c in cases], ids=[i for i, _ in cases])


@pytest.fixture(scope="session")
def jouvence_cases() -> list[tuple[str, dict[str, Any]]]:
    _script_data("jouvence_tests")
    return load_jouvence_cases()
