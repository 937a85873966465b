#!/usr/bin/env bash
# Train several variants of configs/lm_gpu.toml side by side on one GPU and keep the best by
# validation loss (the smallest model within 0.01 nats of the best). This is how the shipped
# soundstage/models/drama-lm was chosen.
#   bash scripts/lm_sweep.sh runs/lm_data OUTDIR
set -euo pipefail
data=${1:-runs/lm_data}; out=${2:-runs/lm_sweep}; work=$(mktemp -d)
export PYTHONPATH=${PYTHONPATH:-$PWD} PYTHONUNBUFFERED=1
run() { local name=$1; shift
  python3 -m soundstage.lm.train --config configs/lm_gpu.toml --data "$data" --out "$work/$name" "$@" \
    >"$work/$name.log" 2>&1 || echo "variant $name failed" >>"$work/$name.log"; }
while read -r name overrides; do
  case "$name" in ''|'#'*) continue;; esac
  # shellcheck disable=SC2086  # overrides are whitespace-separated on purpose
  run "$name" $overrides &
done < "${VARIANTS:-configs/lm_sweep.txt}"
wait
mkdir -p "$out"
python3 - "$work" "$out" <<'PY'
import json, shutil, sys
from pathlib import Path
work, out = Path(sys.argv[1]), Path(sys.argv[2])
rows = []
for cfg in sorted(work.glob("*/config.json")):
    c = json.loads(cfg.read_text())
    rows.append((c["val_loss"], cfg.parent.name, c["params"], c["best_step"], c["minutes"], c["model"]))
with open(out / "sweep.log", "w") as fh:
    for r in sorted(rows):
        print(*r, sep="\t", file=fh)
    for log in sorted(work.glob("*.log")):
        fh.write(f"\n== {log.name}\n" + log.read_text()[-3000:])
# Prefer the smaller model unless a bigger one is clearly (> 0.01 nats) better.
top = min(r[0] for r in rows)
best = min((r for r in rows if r[0] <= top + 0.01), key=lambda r: r[2])[1]
shutil.copytree(work / best, out / "best", dirs_exist_ok=True)
print(open(out / "sweep.log").read()[:4000])
PY
