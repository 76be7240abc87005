#!/usr/bin/env bash
# The GPU figures for the README, on a machine with a CUDA GPU and MNIST in DATA/MNIST/raw:
#   scripts/gpu_check.sh [DATA]     (DATA defaults to ./data; OUT=folder for the results)
# Prints the benchmark table on the GPU, then the 15-epoch default recipe and the speedrun,
# each with its fit time and test accuracy.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
DATA=${1:-data}
OUT=${OUT:-outputs/gpu_check}
mkdir -p "$OUT"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PY" scripts/benchmark.py --device cuda --data-dir "$DATA" --json "$OUT/benchmark.json"
"$PY" train.py trainer=gpu data.data_dir="$DATA" logger=none hydra.run.dir="$OUT/default"
"$PY" train.py experiment=speedrun data.data_dir="$DATA" hydra.run.dir="$OUT/speedrun"
for run in default speedrun; do
  "$PY" - "$OUT/$run/metrics.json" "$run" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]:>9}: fit {m['fit_time_s']:.2f} s over {m['epochs']} epochs, test/acc {m['test/acc']:.4f}")
PY
done
