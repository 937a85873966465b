"""The llamacpp backend's failure messages; the happy path needs llama-cpp-python and a GGUF
file, which this test suite does not have."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from soundstage.backends import load_backend
from soundstage.errors import BackendUnavailable


def test_missing_file_is_named_even_without_the_extra(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(BackendUnavailable, match=f"GGUF model file {missing} does not exist"):
        load_backend(f"llamacpp:{missing}")


def test_missing_extra_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # as if not installed, even where it is
    with pytest.raises(BackendUnavailable) as info:
        load_backend(f"llamacpp:{model}")
    assert info.value.hint == "pip install 'soundstage[llamacpp]'"
    assert "llama-cpp-python" in info.value.message
